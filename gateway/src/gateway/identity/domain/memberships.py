"""Who belongs to an organization, in which role, and what each role may do to the others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from studio_platform.errors import Conflict, Forbidden, Invalid

Role = Literal["owner", "manager", "instructor", "client"]
ROLES: tuple[Role, ...] = ("owner", "manager", "instructor", "client")
STAFF_ROLES = frozenset({"owner", "manager", "instructor"})
# Managers run some studios and instructors teach at some; owners run them all, clients belong to none.
STUDIO_BOUND_ROLES = frozenset({"manager", "instructor"})
MANAGER_MAY_INVITE = frozenset({"instructor", "client"})


@dataclass(frozen=True)
class Membership:
    id: UUID
    organization_id: UUID
    user_id: UUID
    role: Role
    studio_ids: frozenset[UUID]
    created_at: datetime

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def manages_studio(self, studio_id: UUID) -> bool:
        return self.is_owner or (self.role == "manager" and studio_id in self.studio_ids)

    def require_owner(self) -> None:
        if not self.is_owner:
            raise Forbidden("Only an owner of the organization may do this.", code="owner-only")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("Only the organization's staff may do this.", code="staff-only")

    def require_manager_of(self, studio_id: UUID) -> None:
        if not self.manages_studio(studio_id):
            raise Forbidden("Only the studio's owner or manager may do this.", code="not-studio-manager")

    def changed(self, *, role: Role | None = None, studio_ids: Iterable[UUID] | None = None) -> Membership:
        """The membership with a new role and/or studios; studios lapse when the new role has none."""
        new_role = role or self.role
        if studio_ids is None:
            studio_ids = self.studio_ids if new_role in STUDIO_BOUND_ROLES else ()
        return replace(self, role=new_role, studio_ids=studios_for_role(new_role, studio_ids))


@dataclass(frozen=True)
class Member:
    """A membership with the person's name and email, as staff see it."""

    membership: Membership
    name: str
    email: str


def studios_for_role(role: Role, studio_ids: Iterable[UUID]) -> frozenset[UUID]:
    studios = frozenset(studio_ids)
    if studios and role not in STUDIO_BOUND_ROLES:
        raise Invalid(f"A member with the role {role!r} is not bound to studios.", code="studios-not-allowed")
    return studios


def require_may_invite(inviter: Membership, role: Role, studio_ids: frozenset[UUID]) -> None:
    """Owners invite anyone; a manager invites instructors and clients to their own studios only."""
    if inviter.is_owner:
        return
    if inviter.role != "manager" or role not in MANAGER_MAY_INVITE:
        raise Forbidden("You may not invite someone with that role.", code="invite-not-allowed")
    if not studio_ids.issubset(inviter.studio_ids) or (role == "instructor" and not studio_ids):
        raise Forbidden("Managers invite instructors to the studios they manage only.", code="invite-not-allowed")


def require_keeps_an_owner(member: Membership, new_role: Role, owners: int) -> None:
    """An organization is never left without an owner (`owners` counts the current ones)."""
    if member.is_owner and new_role != "owner" and owners <= 1:
        raise Conflict("The organization's last owner cannot give up the role.", code="last-owner")
