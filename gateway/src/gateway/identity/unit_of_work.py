"""Identity's unit of work: one transaction with every identity repository on it."""

from __future__ import annotations

from gateway.identity.adapters.repository import (
    InvitationRepository,
    MembershipRepository,
    OrganizationRepository,
    RefreshTokenRepository,
    StudioRepository,
    UserRepository,
)
from studio_platform.uow import UnitOfWork


class IdentityUnitOfWork(UnitOfWork):
    def _open(self) -> None:
        self.users = UserRepository(self.db)
        self.organizations = OrganizationRepository(self.db)
        self.studios = StudioRepository(self.db)
        self.memberships = MembershipRepository(self.db)
        self.invitations = InvitationRepository(self.db)
        self.refresh_tokens = RefreshTokenRepository(self.db)
