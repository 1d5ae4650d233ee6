"""What callers ask identity to do (imperative names; the handlers carry them out)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from gateway.identity.domain.memberships import Role


class Keep(Enum):
    """A field a partial update leaves as it is (None may mean "clear")."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    name: str


@dataclass(frozen=True)
class LogIn:
    email: str
    password: str
    organization_id: UUID | None = None


@dataclass(frozen=True)
class RefreshSession:
    refresh_token: str
    organization_id: UUID | None = None


@dataclass(frozen=True)
class LogOut:
    refresh_token: str


@dataclass(frozen=True)
class CreateOrganization:
    name: str


@dataclass(frozen=True)
class AddStudio:
    name: str
    time_zone: str
    address: str | None = None


@dataclass(frozen=True)
class ChangeStudio:
    studio_id: UUID
    name: str | None = None
    time_zone: str | None = None
    address: str | Keep | None = KEEP


@dataclass(frozen=True)
class ChangeMember:
    user_id: UUID
    role: Role | None = None
    studio_ids: frozenset[UUID] | None = None


@dataclass(frozen=True)
class Invite:
    email: str
    role: Role
    studio_ids: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class AcceptInvitation:
    token: str
