"""Identity's use cases. Each runs in one unit of work and commits only through it.

Tenant operations take the organization from the caller's token only, and
check the caller's role against their membership as stored now, so a role
taken away counts at once, not when the access token expires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from gateway.identity.adapters.passwords import hash_password, needs_rehash, verify_password
from gateway.identity.domain.accounts import (
    User,
    normalise_email,
    require_name,
    require_strong_password,
    require_valid_email,
)
from gateway.identity.domain.commands import (
    KEEP,
    AcceptInvitation,
    AddStudio,
    ChangeMember,
    ChangeStudio,
    CreateOrganization,
    Invite,
    LogIn,
    LogOut,
    RefreshSession,
    SignUp,
)
from gateway.identity.domain.invitations import Invitation
from gateway.identity.domain.memberships import (
    Member,
    Membership,
    Role,
    require_keeps_an_owner,
    require_may_invite,
    studios_for_role,
)
from gateway.identity.domain.organizations import Organization, Studio, require_time_zone, slug_candidates
from gateway.identity.domain.sessions import RefreshToken, Verdict, hash_secret, judge_refresh, new_secret
from gateway.identity.tokens import SessionTokens, TokenIssuer
from gateway.identity.unit_of_work import IdentityUnitOfWork
from studio_contracts.identity import InvitationCreated, MemberJoined, OrganizationCreated, StudioCreated, StudioUpdated
from studio_platform.auth import Principal
from studio_platform.errors import Conflict, Forbidden, NotFound, Unauthorized


@dataclass(frozen=True)
class SignedUp:
    user: User
    tokens: SessionTokens


@dataclass(frozen=True)
class Profile:
    user: User
    memberships: list[tuple[Membership, Organization]]


@dataclass(frozen=True)
class Joined:
    """A membership just made (a new organization's owner, or an accepted invitation) and its session."""

    organization: Organization
    membership: Membership
    tokens: SessionTokens


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    accept_token: str


def _now() -> datetime:
    return datetime.now(UTC)


# --- sessions -------------------------------------------------------------------------------------------


async def sign_up(cmd: SignUp, uow: IdentityUnitOfWork, *, tokens: TokenIssuer) -> SignedUp:
    email = require_valid_email(cmd.email)
    require_strong_password(cmd.password)
    user = User(id=uuid.uuid4(), email=email, name=require_name(cmd.name),
                password_hash=await hash_password(cmd.password), created_at=_now())
    async with uow:
        if not await uow.users.add(user):
            raise Conflict("An account with this email already exists.", code="email-taken")
        session = await _start_session(uow, tokens, user, None)
        await uow.commit()
    return SignedUp(user, session)


async def log_in(cmd: LogIn, uow: IdentityUnitOfWork, *, tokens: TokenIssuer) -> SessionTokens:
    async with uow:
        user = await uow.users.by_email(normalise_email(cmd.email))
        password_ok = await verify_password(user.password_hash if user else None, cmd.password)
        if user is None or not password_ok:
            raise Unauthorized("The email or password is wrong.", code="invalid-credentials")
        if needs_rehash(user.password_hash):
            await uow.users.set_password_hash(user.id, await hash_password(cmd.password))
        if cmd.organization_id is not None:
            membership = await _membership_in(uow, cmd.organization_id, user.id)
        else:
            memberships = await uow.memberships.of_user(user.id)
            membership = memberships[0][0] if memberships else None
        session = await _start_session(uow, tokens, user, membership)
        await uow.commit()
    return session


async def refresh_session(cmd: RefreshSession, uow: IdentityUnitOfWork, *, tokens: TokenIssuer) -> SessionTokens:
    """Spend a refresh token for a new pair; a spent one shown again revokes its whole family."""
    token_hash = hash_secret(cmd.refresh_token)
    async with uow:
        claimed = await uow.refresh_tokens.claim(token_hash)
        token = claimed or await uow.refresh_tokens.get(token_hash)
        verdict = judge_refresh(token, claimed=claimed is not None, now=_now())
        if verdict is Verdict.REUSED:
            await uow.refresh_tokens.revoke_family(token.family_id)
            await uow.commit()
            raise Unauthorized("This refresh token was already used; sign in again.", code="refresh-token-reused")
        if verdict is Verdict.EXPIRED:
            raise Unauthorized("The refresh token has expired; sign in again.", code="refresh-token-expired")
        if verdict is Verdict.UNKNOWN:
            raise Unauthorized("The refresh token is not valid.", code="invalid-refresh-token")
        user = await uow.users.get(token.user_id)
        if cmd.organization_id is not None:
            membership = await _membership_in(uow, cmd.organization_id, user.id)
        elif token.organization_id is not None:
            # Removed from the organization meanwhile: the session goes on without it.
            membership = await uow.memberships.get(token.organization_id, user.id)
        else:
            membership = None
        session = await _start_session(uow, tokens, user, membership, continues=token)
        await uow.commit()
    return session


async def log_out(cmd: LogOut, uow: IdentityUnitOfWork) -> None:
    """Revoke the session the refresh token belongs to; an unknown token is already logged out."""
    async with uow:
        token = await uow.refresh_tokens.get(hash_secret(cmd.refresh_token))
        if token is not None:
            await uow.refresh_tokens.revoke_family(token.family_id)
            await uow.commit()


async def _start_session(uow: IdentityUnitOfWork, tokens: TokenIssuer, user: User, membership: Membership | None,
                         *, continues: RefreshToken | None = None) -> SessionTokens:
    refresh, secret = RefreshToken.issue(
        user_id=user.id, organization_id=membership.organization_id if membership else None,
        lifetime=tokens.refresh_lifetime, now=_now(), family_id=continues.family_id if continues else None)
    await uow.refresh_tokens.add(refresh)
    if continues is not None:
        await uow.refresh_tokens.mark_replaced(continues.id, refresh.id)
    return tokens.issue(user, membership, refresh_token=secret)


async def _membership_in(uow: IdentityUnitOfWork, organization_id: UUID, user_id: UUID) -> Membership:
    membership = await uow.memberships.get(organization_id, user_id)
    if membership is None:
        raise Forbidden("You are not a member of that organization.", code="not-a-member")
    return membership


async def _user(uow: IdentityUnitOfWork, principal: Principal) -> User:
    user = await uow.users.get(principal.user_id)
    if user is None:
        raise Unauthorized("The account of this token no longer exists.", code="unknown-user")
    return user


async def _actor(uow: IdentityUnitOfWork, principal: Principal) -> Membership:
    """The caller's membership in the organization of their token."""
    return await _membership_in(uow, principal.org, principal.user_id)


async def me(principal: Principal, uow: IdentityUnitOfWork) -> Profile:
    async with uow:
        return Profile(await _user(uow, principal), await uow.memberships.of_user(principal.user_id))


# --- organizations and studios ------------------------------------------------------------------------


async def create_organization(cmd: CreateOrganization, uow: IdentityUnitOfWork, *, principal: Principal,
                              tokens: TokenIssuer) -> Joined:
    """Anyone signed in may start an organization; they become its owner."""
    name = require_name(cmd.name)
    now = _now()
    async with uow:
        user = await _user(uow, principal)
        for slug in slug_candidates(name):
            organization = Organization(id=uuid.uuid4(), name=name, slug=slug, created_at=now)
            if await uow.organizations.add(organization):
                break
        owner = Membership(id=uuid.uuid4(), organization_id=organization.id, user_id=user.id, role="owner",
                           studio_ids=frozenset(), created_at=now)
        await uow.memberships.add(owner)
        uow.publish(OrganizationCreated(organization_id=organization.id, name=name, owner_user_id=user.id),
                    subject=str(organization.id))
        _publish_member(uow, owner, user.name, user.email)
        session = await _start_session(uow, tokens, user, owner)
        await uow.commit()
    return Joined(organization, owner, session)


async def current_organization(principal: Principal, uow: IdentityUnitOfWork) -> Organization:
    async with uow:
        await _actor(uow, principal)
        organization = await uow.organizations.get(principal.org)
    if organization is None:
        raise NotFound("The organization does not exist.", code="organization-not-found")
    return organization


async def add_studio(cmd: AddStudio, uow: IdentityUnitOfWork, *, principal: Principal) -> Studio:
    async with uow:
        (await _actor(uow, principal)).require_owner()
        studio = Studio(id=uuid.uuid4(), organization_id=principal.org, name=require_name(cmd.name),
                        time_zone=require_time_zone(cmd.time_zone), address=cmd.address, created_at=_now())
        if not await uow.studios.add(studio):
            raise Conflict("The organization already has a studio of that name.", code="studio-name-taken")
        _publish_studio(uow, StudioCreated, studio)
        await uow.commit()
    return studio


async def list_studios(principal: Principal, uow: IdentityUnitOfWork) -> list[Studio]:
    async with uow:
        await _actor(uow, principal)
        return await uow.studios.list(principal.org)


async def get_studio(studio_id: UUID, principal: Principal, uow: IdentityUnitOfWork) -> Studio:
    async with uow:
        await _actor(uow, principal)
        return await _studio(uow, principal.org, studio_id)


async def change_studio(cmd: ChangeStudio, uow: IdentityUnitOfWork, *, principal: Principal) -> Studio:
    async with uow:
        actor = await _actor(uow, principal)
        studio = await _studio(uow, principal.org, cmd.studio_id)
        actor.require_manager_of(studio.id)
        studio = replace(
            studio,
            name=require_name(cmd.name) if cmd.name is not None else studio.name,
            time_zone=require_time_zone(cmd.time_zone) if cmd.time_zone is not None else studio.time_zone,
            address=studio.address if cmd.address is KEEP else cmd.address)
        if not await uow.studios.update(studio):
            raise Conflict("The organization already has a studio of that name.", code="studio-name-taken")
        _publish_studio(uow, StudioUpdated, studio)
        await uow.commit()
    return studio


async def _studio(uow: IdentityUnitOfWork, organization_id: UUID, studio_id: UUID) -> Studio:
    studio = await uow.studios.get(organization_id, studio_id)
    if studio is None:
        raise NotFound("There is no such studio.", code="studio-not-found")
    return studio


async def _require_studios(uow: IdentityUnitOfWork, organization_id: UUID, studio_ids: frozenset[UUID]) -> None:
    if await uow.studios.missing(organization_id, studio_ids):
        raise NotFound("Some of the studios do not exist.", code="studio-not-found")


def _publish_studio(uow: IdentityUnitOfWork, event: type[StudioCreated | StudioUpdated], studio: Studio) -> None:
    uow.publish(event(organization_id=studio.organization_id, studio_id=studio.id, name=studio.name,
                      time_zone=studio.time_zone, address=studio.address), subject=str(studio.id))


# --- members and invitations ---------------------------------------------------------------------------


async def list_members(principal: Principal, uow: IdentityUnitOfWork, *, role: Role | None = None) -> list[Member]:
    async with uow:
        (await _actor(uow, principal)).require_staff()
        return await uow.memberships.members(principal.org, role)


async def get_member(user_id: UUID, principal: Principal, uow: IdentityUnitOfWork) -> Member:
    async with uow:
        actor = await _actor(uow, principal)
        if user_id != actor.user_id:
            actor.require_staff()
        return await _member(uow, principal.org, user_id)


async def change_member(cmd: ChangeMember, uow: IdentityUnitOfWork, *, principal: Principal) -> Member:
    async with uow:
        (await _actor(uow, principal)).require_owner()
        member = await _member(uow, principal.org, cmd.user_id)
        changed = member.membership.changed(role=cmd.role, studio_ids=cmd.studio_ids)
        await _require_studios(uow, principal.org, changed.studio_ids)
        if member.membership.is_owner and not changed.is_owner:
            require_keeps_an_owner(member.membership, changed.role, await uow.memberships.lock_owners(principal.org))
        await uow.memberships.update(changed)
        _publish_member(uow, changed, member.name, member.email)
        await uow.commit()
    return replace(member, membership=changed)


async def _member(uow: IdentityUnitOfWork, organization_id: UUID, user_id: UUID) -> Member:
    member = await uow.memberships.member(organization_id, user_id)
    if member is None:
        raise NotFound("There is no such member.", code="member-not-found")
    return member


def _publish_member(uow: IdentityUnitOfWork, membership: Membership, name: str, email: str) -> None:
    uow.publish(MemberJoined(organization_id=membership.organization_id, user_id=membership.user_id, name=name,
                             email=email, role=membership.role, studio_ids=sorted(membership.studio_ids)),
                subject=str(membership.user_id))


async def invite(cmd: Invite, uow: IdentityUnitOfWork, *, principal: Principal) -> InvitationSent:
    email = require_valid_email(cmd.email)
    async with uow:
        inviter = await _actor(uow, principal)
        studio_ids = studios_for_role(cmd.role, cmd.studio_ids)
        require_may_invite(inviter, cmd.role, studio_ids)
        await _require_studios(uow, principal.org, studio_ids)
        invitee = await uow.users.by_email(email)
        if invitee is not None and await uow.memberships.get(principal.org, invitee.id) is not None:
            raise Conflict("That person is already a member of the organization.", code="already-member")
        organization = await uow.organizations.get(principal.org)
        inviter_user = await _user(uow, principal)
        secret = new_secret()
        invitation = Invitation.issue(organization_id=principal.org, email=email, role=cmd.role,
                                      studio_ids=studio_ids, token_hash=hash_secret(secret),
                                      invited_by=inviter.user_id, now=_now())
        await uow.invitations.add(invitation)
        uow.publish(InvitationCreated(
            organization_id=principal.org, invitation_id=invitation.id, email=email, role=cmd.role,
            organization_name=organization.name, invited_by_name=inviter_user.name, accept_token=secret,
            expires_at=invitation.expires_at), subject=str(invitation.id))
        await uow.commit()
    return InvitationSent(invitation, secret)


async def pending_invitations(principal: Principal, uow: IdentityUnitOfWork) -> list[Invitation]:
    async with uow:
        (await _actor(uow, principal)).require_staff()
        return await uow.invitations.pending(principal.org, _now())


async def accept_invitation(cmd: AcceptInvitation, uow: IdentityUnitOfWork, *, principal: Principal,
                            tokens: TokenIssuer) -> Joined:
    """Join the inviting organization; the token is the credential, so the caller's own org does not matter."""
    now = _now()
    async with uow:
        invitation = await uow.invitations.by_token_hash(hash_secret(cmd.token))
        if invitation is None:
            raise NotFound("There is no such invitation.", code="invitation-not-found")
        user = await _user(uow, principal)
        invitation.require_acceptable_by(user.email, now)
        if not await uow.invitations.claim(invitation.id):
            raise Conflict("This invitation has already been accepted.", code="invitation-accepted")
        membership = Membership(id=uuid.uuid4(), organization_id=invitation.organization_id, user_id=user.id,
                                role=invitation.role, studio_ids=invitation.studio_ids, created_at=now)
        if not await uow.memberships.add(membership):
            raise Conflict("You are already a member of this organization.", code="already-member")
        # The link reached this address, which proves the person reads it.
        await uow.users.mark_email_verified(user.id)
        organization = await uow.organizations.get(invitation.organization_id)
        _publish_member(uow, membership, user.name, user.email)
        session = await _start_session(uow, tokens, user, membership)
        await uow.commit()
    return Joined(organization, membership, session)
