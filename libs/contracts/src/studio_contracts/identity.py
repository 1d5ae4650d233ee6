"""Events published by the gateway, which owns identity: organizations, studios, members."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from studio_contracts.base import Event

Role = Literal["owner", "manager", "instructor", "client"]


class OrganizationCreated(Event):
    type = "identity.organization.created.v1"
    name: str
    owner_user_id: UUID


class StudioSnapshot(Event):
    studio_id: UUID
    name: str
    time_zone: str
    address: str | None = None


class StudioCreated(StudioSnapshot):
    type = "identity.studio.created.v1"


class StudioUpdated(StudioSnapshot):
    type = "identity.studio.updated.v1"


class MemberJoined(Event):
    """A person became a member of an organization, or their role or studios changed."""

    type = "identity.member.joined.v1"
    user_id: UUID
    name: str
    email: str
    role: Role
    studio_ids: list[UUID] = []


class InvitationCreated(Event):
    """Staff invited someone by email; notifications sends the link."""

    type = "identity.invitation.created.v1"
    invitation_id: UUID
    email: str
    role: Role
    organization_name: str
    invited_by_name: str
    accept_token: str
    expires_at: datetime
