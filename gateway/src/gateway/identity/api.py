"""Identity's HTTP API: parse, call a handler, shape the reply."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from gateway.identity import handlers
from gateway.identity.domain.accounts import User
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
from gateway.identity.domain.memberships import Member, Membership, Role
from gateway.identity.domain.organizations import Organization, Studio
from gateway.identity.schemas import (
    AcceptInvitationRequest,
    AddStudioRequest,
    ChangeMemberRequest,
    ChangeStudioRequest,
    CreateOrganizationRequest,
    InvitationOut,
    InvitationSentOut,
    InviteRequest,
    JoinedOut,
    Jwks,
    LogInRequest,
    LogOutRequest,
    MemberOut,
    MembershipOut,
    OrganizationOut,
    ProfileOut,
    RefreshRequest,
    SignedUpOut,
    SignUpRequest,
    StudioOut,
    Tokens,
    UserOut,
)
from gateway.identity.tokens import SessionTokens, TokenIssuer
from gateway.identity.unit_of_work import IdentityUnitOfWork
from studio_platform.auth import CurrentPrincipal
from studio_platform.problems import error_responses


async def _uow(request: Request) -> IdentityUnitOfWork:
    return request.app.state.uow()


async def _token_issuer(request: Request) -> TokenIssuer:
    return request.app.state.token_issuer


Uow = Annotated[IdentityUnitOfWork, Depends(_uow)]
Issuer = Annotated[TokenIssuer, Depends(_token_issuer)]

router = APIRouter()
v1 = APIRouter(prefix="/v1")


# --- replies ------------------------------------------------------------------------------------------


def _user(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, created_at=user.created_at,
                   email_verified_at=user.email_verified_at)


def _tokens(tokens: SessionTokens) -> Tokens:
    return Tokens(**asdict(tokens))


def _membership(membership: Membership, organization: Organization) -> MembershipOut:
    return MembershipOut(organization_id=organization.id, organization_name=organization.name,
                         role=membership.role, studio_ids=sorted(membership.studio_ids))


def _organization(organization: Organization) -> OrganizationOut:
    return OrganizationOut(**asdict(organization))


def _joined(joined: handlers.Joined) -> JoinedOut:
    return JoinedOut(organization=_organization(joined.organization),
                     membership=_membership(joined.membership, joined.organization), tokens=_tokens(joined.tokens))


def _studio(studio: Studio) -> StudioOut:
    return StudioOut(**asdict(studio))


def _member(member: Member) -> MemberOut:
    m = member.membership
    return MemberOut(user_id=m.user_id, name=member.name, email=member.email, role=m.role,
                     studio_ids=sorted(m.studio_ids), joined_at=m.created_at)


def _invitation_fields(invitation: Invitation) -> dict[str, Any]:
    # Named one by one: the token's hash stays out of every reply.
    return {"id": invitation.id, "email": invitation.email, "role": invitation.role,
            "studio_ids": sorted(invitation.studio_ids), "invited_by": invitation.invited_by,
            "expires_at": invitation.expires_at, "created_at": invitation.created_at}


# --- sessions -----------------------------------------------------------------------------------------


@v1.post("/auth/signup", operation_id="sign_up", summary="Create an account", tags=["auth"],
         status_code=status.HTTP_201_CREATED, response_model=SignedUpOut, responses=error_responses(400, 409, 422))
async def sign_up(body: SignUpRequest, uow: Uow, tokens: Issuer) -> SignedUpOut:
    signed_up = await handlers.sign_up(SignUp(**body.model_dump()), uow, tokens=tokens)
    return SignedUpOut(user=_user(signed_up.user), **asdict(signed_up.tokens))


@v1.post("/auth/login", operation_id="log_in", summary="Log in", tags=["auth"], response_model=Tokens,
         responses=error_responses(400, 401, 403, 422))
async def log_in(body: LogInRequest, uow: Uow, tokens: Issuer) -> Tokens:
    return _tokens(await handlers.log_in(LogIn(**body.model_dump()), uow, tokens=tokens))


@v1.post("/auth/refresh", operation_id="refresh_session", summary="Swap a refresh token for new tokens",
         tags=["auth"], response_model=Tokens, responses=error_responses(400, 401, 403, 422))
async def refresh_session(body: RefreshRequest, uow: Uow, tokens: Issuer) -> Tokens:
    return _tokens(await handlers.refresh_session(RefreshSession(**body.model_dump()), uow, tokens=tokens))


@v1.post("/auth/logout", operation_id="log_out", summary="End a session", tags=["auth"],
         status_code=status.HTTP_204_NO_CONTENT, response_class=Response, response_model=None,
         responses=error_responses(400, 422))
async def log_out(body: LogOutRequest, uow: Uow) -> None:
    await handlers.log_out(LogOut(body.refresh_token), uow)


@v1.get("/me", operation_id="get_me", summary="Who I am and where I belong", tags=["auth"],
        response_model=ProfileOut, responses=error_responses(401))
async def get_me(principal: CurrentPrincipal, uow: Uow) -> ProfileOut:
    profile = await handlers.me(principal, uow)
    return ProfileOut(user=_user(profile.user), memberships=[_membership(m, o) for m, o in profile.memberships])


# --- organizations and studios ------------------------------------------------------------------------


@v1.post("/organizations", operation_id="create_organization", summary="Start an organization",
         tags=["organizations"], status_code=status.HTTP_201_CREATED, response_model=JoinedOut,
         responses=error_responses(400, 401, 422))
async def create_organization(body: CreateOrganizationRequest, principal: CurrentPrincipal, uow: Uow,
                              tokens: Issuer) -> JoinedOut:
    cmd = CreateOrganization(body.name)
    return _joined(await handlers.create_organization(cmd, uow, principal=principal, tokens=tokens))


@v1.get("/organizations/current", operation_id="get_current_organization", summary="My organization",
        tags=["organizations"], response_model=OrganizationOut, responses=error_responses(401, 403, 404))
async def get_current_organization(principal: CurrentPrincipal, uow: Uow) -> OrganizationOut:
    return _organization(await handlers.current_organization(principal, uow))


@v1.post("/studios", operation_id="create_studio", summary="Add a studio", tags=["studios"],
         status_code=status.HTTP_201_CREATED, response_model=StudioOut,
         responses=error_responses(400, 401, 403, 409, 422))
async def create_studio(body: AddStudioRequest, principal: CurrentPrincipal, uow: Uow) -> StudioOut:
    return _studio(await handlers.add_studio(AddStudio(**body.model_dump()), uow, principal=principal))


@v1.get("/studios", operation_id="list_studios", summary="List studios", tags=["studios"],
        response_model=list[StudioOut], responses=error_responses(401, 403))
async def list_studios(principal: CurrentPrincipal, uow: Uow) -> list[StudioOut]:
    return [_studio(s) for s in await handlers.list_studios(principal, uow)]


@v1.get("/studios/{studio_id}", operation_id="get_studio", summary="Get a studio", tags=["studios"],
        response_model=StudioOut, responses=error_responses(401, 403, 404, 422))
async def get_studio(studio_id: UUID, principal: CurrentPrincipal, uow: Uow) -> StudioOut:
    return _studio(await handlers.get_studio(studio_id, principal, uow))


@v1.patch("/studios/{studio_id}", operation_id="update_studio", summary="Change a studio", tags=["studios"],
          response_model=StudioOut, responses=error_responses(400, 401, 403, 404, 409, 422))
async def update_studio(studio_id: UUID, body: ChangeStudioRequest, principal: CurrentPrincipal,
                        uow: Uow) -> StudioOut:
    cmd = ChangeStudio(studio_id=studio_id, name=body.name, time_zone=body.time_zone,
                       address=body.address if "address" in body.model_fields_set else KEEP)
    return _studio(await handlers.change_studio(cmd, uow, principal=principal))


# --- members and invitations --------------------------------------------------------------------------


@v1.get("/members", operation_id="list_members", summary="List members (staff)", tags=["members"],
        response_model=list[MemberOut], responses=error_responses(401, 403, 422))
async def list_members(principal: CurrentPrincipal, uow: Uow,
                       role: Annotated[Role | None, Query()] = None) -> list[MemberOut]:
    return [_member(m) for m in await handlers.list_members(principal, uow, role=role)]


@v1.get("/members/{user_id}", operation_id="get_member", summary="Get a member", tags=["members"],
        response_model=MemberOut, responses=error_responses(401, 403, 404, 422))
async def get_member(user_id: UUID, principal: CurrentPrincipal, uow: Uow) -> MemberOut:
    return _member(await handlers.get_member(user_id, principal, uow))


@v1.patch("/members/{user_id}", operation_id="update_member", summary="Change a member's role or studios",
          tags=["members"], response_model=MemberOut, responses=error_responses(400, 401, 403, 404, 409, 422))
async def update_member(user_id: UUID, body: ChangeMemberRequest, principal: CurrentPrincipal,
                        uow: Uow) -> MemberOut:
    studio_ids = frozenset(body.studio_ids) if body.studio_ids is not None else None
    cmd = ChangeMember(user_id=user_id, role=body.role, studio_ids=studio_ids)
    return _member(await handlers.change_member(cmd, uow, principal=principal))


@v1.post("/invitations", operation_id="create_invitation", summary="Invite someone by email",
         tags=["invitations"], status_code=status.HTTP_201_CREATED, response_model=InvitationSentOut,
         responses=error_responses(400, 401, 403, 404, 409, 422))
async def create_invitation(body: InviteRequest, principal: CurrentPrincipal, uow: Uow,
                            request: Request) -> InvitationSentOut:
    cmd = Invite(email=body.email, role=body.role, studio_ids=frozenset(body.studio_ids))
    sent = await handlers.invite(cmd, uow, principal=principal)
    # The web app's page at this address posts the token to /v1/invitations/accept.
    accept_url = f"{request.app.state.public_url}/invitations/accept?token={quote(sent.accept_token)}"
    return InvitationSentOut(**_invitation_fields(sent.invitation), accept_token=sent.accept_token,
                             accept_url=accept_url)


@v1.get("/invitations", operation_id="list_invitations", summary="Pending invitations (staff)",
        tags=["invitations"], response_model=list[InvitationOut], responses=error_responses(401, 403))
async def list_invitations(principal: CurrentPrincipal, uow: Uow) -> list[InvitationOut]:
    return [InvitationOut(**_invitation_fields(i)) for i in await handlers.pending_invitations(principal, uow)]


@v1.post("/invitations/accept", operation_id="accept_invitation", summary="Accept an invitation",
         tags=["invitations"], response_model=JoinedOut,
         responses=error_responses(400, 401, 403, 404, 409, 410, 422))
async def accept_invitation(body: AcceptInvitationRequest, principal: CurrentPrincipal, uow: Uow,
                            tokens: Issuer) -> JoinedOut:
    cmd = AcceptInvitation(body.token)
    return _joined(await handlers.accept_invitation(cmd, uow, principal=principal, tokens=tokens))


# --- keys ---------------------------------------------------------------------------------------------


@router.get("/.well-known/jwks.json", operation_id="get_jwks", summary="Public keys of access tokens",
            tags=["auth"], response_model=Jwks)
async def get_jwks(tokens: Issuer) -> Jwks:
    return Jwks.model_validate(tokens.jwks())


router.include_router(v1)
