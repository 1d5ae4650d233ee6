"""Invitations: staff ask someone by email to join their organization in a role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from gateway.identity.domain.memberships import Role
from studio_platform.errors import Conflict, Forbidden, Gone

INVITATION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Invitation:
    id: UUID
    organization_id: UUID
    email: str
    role: Role
    studio_ids: frozenset[UUID]
    token_hash: str
    invited_by: UUID
    expires_at: datetime
    created_at: datetime
    accepted_at: datetime | None = None

    @classmethod
    def issue(cls, *, organization_id: UUID, email: str, role: Role, studio_ids: frozenset[UUID],
              token_hash: str, invited_by: UUID, now: datetime) -> Invitation:
        return cls(id=uuid.uuid4(), organization_id=organization_id, email=email, role=role,
                   studio_ids=studio_ids, token_hash=token_hash, invited_by=invited_by,
                   expires_at=now + INVITATION_LIFETIME, created_at=now)

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def require_acceptable_by(self, email: str, now: datetime) -> None:
        # The email check comes first: someone else's link tells them nothing about its state.
        if email != self.email:
            raise Forbidden("This invitation was sent to another email address.", code="invitation-not-yours")
        if self.accepted_at is not None:
            raise Conflict("This invitation has already been accepted.", code="invitation-accepted")
        if self.is_expired(now):
            raise Gone("This invitation has expired; ask for a new one.", code="invitation-expired")
