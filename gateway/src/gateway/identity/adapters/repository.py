"""Repositories: identity's rows in and out as domain objects.

Tenant rows are always read and written scoped by organization; users and
refresh tokens are global. Uniqueness is left to the database: inserts use
ON CONFLICT DO NOTHING and report whether they won, so a concurrent duplicate
is an answer, not an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.identity.adapters.tables import (
    invitations,
    memberships,
    organizations,
    refresh_tokens,
    studios,
    users,
)
from gateway.identity.domain.accounts import User
from gateway.identity.domain.invitations import Invitation
from gateway.identity.domain.memberships import Member, Membership, Role
from gateway.identity.domain.organizations import Organization, Studio
from gateway.identity.domain.sessions import RefreshToken


def _values(obj: Any) -> dict[str, Any]:
    values = dict(vars(obj))
    if "studio_ids" in values:
        values["studio_ids"] = sorted(values["studio_ids"])
    return values


def _with_studios(row: sa.RowMapping) -> dict[str, Any]:
    return {**row, "studio_ids": frozenset(row["studio_ids"])}


class _Repository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def _insert_unless_taken(self, table: sa.Table, obj: Any) -> bool:
        result = await self._db.execute(
            insert(table).values(_values(obj)).on_conflict_do_nothing().returning(table.c.id))
        return result.first() is not None

    async def _one(self, query: sa.Select) -> sa.RowMapping | None:
        return (await self._db.execute(query)).mappings().first()

    async def _all(self, query: sa.Select) -> list[sa.RowMapping]:
        return list((await self._db.execute(query)).mappings())


class UserRepository(_Repository):
    async def add(self, user: User) -> bool:
        """False when the email is taken."""
        return await self._insert_unless_taken(users, user)

    async def get(self, user_id: UUID) -> User | None:
        row = await self._one(sa.select(users).where(users.c.id == user_id))
        return User(**row) if row else None

    async def by_email(self, email: str) -> User | None:
        row = await self._one(sa.select(users).where(users.c.email == email))
        return User(**row) if row else None

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._db.execute(sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash))

    async def mark_email_verified(self, user_id: UUID) -> None:
        await self._db.execute(sa.update(users).where(users.c.id == user_id, users.c.email_verified_at.is_(None))
                               .values(email_verified_at=sa.func.now()))


class OrganizationRepository(_Repository):
    async def add(self, organization: Organization) -> bool:
        """False when the slug is taken."""
        return await self._insert_unless_taken(organizations, organization)

    async def get(self, organization_id: UUID) -> Organization | None:
        row = await self._one(sa.select(organizations).where(organizations.c.id == organization_id))
        return Organization(**row) if row else None


class StudioRepository(_Repository):
    async def add(self, studio: Studio) -> bool:
        """False when the organization already has a studio of that name."""
        return await self._insert_unless_taken(studios, studio)

    async def get(self, organization_id: UUID, studio_id: UUID) -> Studio | None:
        row = await self._one(sa.select(studios).where(studios.c.organization_id == organization_id,
                                                       studios.c.id == studio_id))
        return Studio(**row) if row else None

    async def list(self, organization_id: UUID) -> list[Studio]:
        rows = await self._all(sa.select(studios).where(studios.c.organization_id == organization_id)
                               .order_by(studios.c.name))
        return [Studio(**row) for row in rows]

    async def update(self, studio: Studio) -> bool:
        """False when the new name is another studio's."""
        try:
            # A savepoint: the unique name constraint may refuse, and the transaction must live on.
            async with self._db.begin_nested():
                await self._db.execute(
                    sa.update(studios)
                    .where(studios.c.organization_id == studio.organization_id, studios.c.id == studio.id)
                    .values(name=studio.name, time_zone=studio.time_zone, address=studio.address))
        except IntegrityError:
            return False
        return True

    async def missing(self, organization_id: UUID, studio_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these ids are not studios of the organization."""
        wanted = set(studio_ids)
        if not wanted:
            return set()
        rows = await self._db.execute(sa.select(studios.c.id).where(
            studios.c.organization_id == organization_id, studios.c.id.in_(wanted)))
        return wanted - set(rows.scalars())


class MembershipRepository(_Repository):
    async def add(self, membership: Membership) -> bool:
        """False when the person is already a member of the organization."""
        return await self._insert_unless_taken(memberships, membership)

    async def get(self, organization_id: UUID, user_id: UUID) -> Membership | None:
        row = await self._one(sa.select(memberships).where(memberships.c.organization_id == organization_id,
                                                           memberships.c.user_id == user_id))
        return Membership(**_with_studios(row)) if row else None

    async def of_user(self, user_id: UUID) -> list[tuple[Membership, Organization]]:
        """A person's memberships, oldest first, with their organizations."""
        query = (sa.select(memberships, organizations.c.name.label("org_name"), organizations.c.slug,
                           organizations.c.created_at.label("org_created_at"))
                 .join(organizations, organizations.c.id == memberships.c.organization_id)
                 .where(memberships.c.user_id == user_id)
                 .order_by(memberships.c.created_at, memberships.c.id))
        result = []
        for row in await self._all(query):
            values = _with_studios(row)
            organization = Organization(id=row["organization_id"], name=values.pop("org_name"),
                                        slug=values.pop("slug"), created_at=values.pop("org_created_at"))
            result.append((Membership(**values), organization))
        return result

    async def update(self, membership: Membership) -> None:
        await self._db.execute(
            sa.update(memberships)
            .where(memberships.c.organization_id == membership.organization_id, memberships.c.id == membership.id)
            .values(role=membership.role, studio_ids=sorted(membership.studio_ids)))

    async def lock_owners(self, organization_id: UUID) -> int:
        """Count the owners, locking their rows so two demotions cannot both see a second owner."""
        rows = await self._db.execute(
            sa.select(memberships.c.id)
            .where(memberships.c.organization_id == organization_id, memberships.c.role == "owner")
            .order_by(memberships.c.id).with_for_update())
        return len(rows.all())

    def _members(self, organization_id: UUID) -> sa.Select:
        return (sa.select(memberships, users.c.name, users.c.email)
                .join(users, users.c.id == memberships.c.user_id)
                .where(memberships.c.organization_id == organization_id))

    async def members(self, organization_id: UUID, role: Role | None = None) -> list[Member]:
        query = self._members(organization_id).order_by(users.c.name, users.c.id)
        if role is not None:
            query = query.where(memberships.c.role == role)
        return [_member(row) for row in await self._all(query)]

    async def member(self, organization_id: UUID, user_id: UUID) -> Member | None:
        row = await self._one(self._members(organization_id).where(memberships.c.user_id == user_id))
        return _member(row) if row else None


def _member(row: sa.RowMapping) -> Member:
    values = _with_studios(row)
    name, email = values.pop("name"), values.pop("email")
    return Member(membership=Membership(**values), name=name, email=email)


class InvitationRepository(_Repository):
    async def add(self, invitation: Invitation) -> None:
        await self._db.execute(sa.insert(invitations).values(_values(invitation)))

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        row = await self._one(sa.select(invitations).where(invitations.c.token_hash == token_hash))
        return Invitation(**_with_studios(row)) if row else None

    async def claim(self, invitation_id: UUID) -> bool:
        """Mark accepted unless someone else did first (the row lock makes the loser wait, then miss)."""
        result = await self._db.execute(
            sa.update(invitations)
            .where(invitations.c.id == invitation_id, invitations.c.accepted_at.is_(None))
            .values(accepted_at=sa.func.now()).returning(invitations.c.id))
        return result.first() is not None

    async def pending(self, organization_id: UUID, now: datetime) -> list[Invitation]:
        rows = await self._all(
            sa.select(invitations)
            .where(invitations.c.organization_id == organization_id, invitations.c.accepted_at.is_(None),
                   invitations.c.expires_at > now)
            .order_by(invitations.c.created_at))
        return [Invitation(**_with_studios(row)) for row in rows]


class RefreshTokenRepository(_Repository):
    async def add(self, token: RefreshToken) -> None:
        await self._db.execute(sa.insert(refresh_tokens).values(_values(token)))

    async def get(self, token_hash: str) -> RefreshToken | None:
        row = await self._one(sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))
        return RefreshToken(**row) if row else None

    async def claim(self, token_hash: str) -> RefreshToken | None:
        """Revoke the token if it is still live and return it; None when it was not (one winner per token)."""
        row = (await self._db.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now()).returning(*refresh_tokens.c))).mappings().first()
        return RefreshToken(**row) if row else None

    async def mark_replaced(self, token_id: UUID, replaced_by: UUID) -> None:
        await self._db.execute(
            sa.update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(replaced_by=replaced_by))

    async def revoke_family(self, family_id: UUID) -> None:
        await self._db.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now()))
