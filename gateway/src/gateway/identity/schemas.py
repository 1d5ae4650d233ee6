"""The JSON shapes of identity's HTTP API (requests are strict: unknown fields are refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from gateway.identity.domain.memberships import Role
from studio_platform.schemas import StrictBody

Email = Annotated[str, Field(max_length=320, examples=["ann@yogaloft.example"])]
# Bounded here so a huge body is refused before any hashing; the policy itself lives in the domain.
Password = Annotated[str, Field(max_length=1024)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Secret = Annotated[str, Field(min_length=1, max_length=200)]


StudioIds = Annotated[list[UUID], Field(max_length=100)]


class SignUpRequest(StrictBody):
    email: Email
    password: Password
    name: Name


class LogInRequest(StrictBody):
    email: Email
    password: Password
    organization_id: UUID | None = Field(None, description="The organization to act in; default: the oldest.")


class RefreshRequest(StrictBody):
    refresh_token: Secret
    organization_id: UUID | None = Field(None, description="Switch to another organization you belong to.")


class LogOutRequest(StrictBody):
    refresh_token: Secret


class CreateOrganizationRequest(StrictBody):
    name: Name


class AddStudioRequest(StrictBody):
    name: Name
    time_zone: str = Field(max_length=64, examples=["Europe/Berlin"], description="An IANA time zone.")
    address: str | None = Field(None, max_length=500)


class ChangeStudioRequest(StrictBody):
    """Only the fields sent change; `address: null` clears it."""

    name: Name | None = None
    time_zone: str | None = Field(None, max_length=64)
    address: str | None = Field(None, max_length=500)


class ChangeMemberRequest(StrictBody):
    role: Role | None = None
    studio_ids: StudioIds | None = Field(None, description="Studios a manager manages or an instructor teaches at.")


class InviteRequest(StrictBody):
    email: Email
    role: Role
    studio_ids: StudioIds = []


class AcceptInvitationRequest(StrictBody):
    token: Secret


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    created_at: datetime
    email_verified_at: datetime | None


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class SignedUpOut(Tokens):
    user: UserOut


class OrganizationOut(BaseModel):
    id: UUID
    name: str
    slug: str
    created_at: datetime


class MembershipOut(BaseModel):
    organization_id: UUID
    organization_name: str
    role: Role
    studio_ids: list[UUID]


class ProfileOut(BaseModel):
    user: UserOut
    memberships: list[MembershipOut]


class JoinedOut(BaseModel):
    """A new membership, with tokens scoped to its organization."""

    organization: OrganizationOut
    membership: MembershipOut
    tokens: Tokens


class StudioOut(BaseModel):
    id: UUID
    organization_id: UUID
    name: str
    time_zone: str
    address: str | None
    created_at: datetime


class MemberOut(BaseModel):
    user_id: UUID
    name: str
    email: str
    role: Role
    studio_ids: list[UUID]
    joined_at: datetime


class InvitationOut(BaseModel):
    id: UUID
    email: str
    role: Role
    studio_ids: list[UUID]
    invited_by: UUID
    expires_at: datetime
    created_at: datetime


class InvitationSentOut(InvitationOut):
    accept_token: str = Field(description="Shown once; only its hash is kept.")
    accept_url: str


class Jwk(BaseModel):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(BaseModel):
    keys: list[Jwk]
