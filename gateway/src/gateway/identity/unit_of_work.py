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
        self.users = UserRepository(self.session)
        self.organizations = OrganizationRepository(self.session)
        self.studios = StudioRepository(self.session)
        self.memberships = MembershipRepository(self.session)
        self.invitations = InvitationRepository(self.session)
        self.refresh_tokens = RefreshTokenRepository(self.session)
