from datetime import timedelta

import sqlalchemy as sa

from booking.adapters.outcomes import CHANNEL, payload
from booking.adapters.repository import (
    BookingRepository,
    ClassRepository,
    MemberRepository,
    PolicyRepository,
    SuspensionRepository,
    WaitlistRepository,
)
from booking.domain.bookings import Booking
from booking.domain.policy import BookingPolicy
from studio_platform.uow import UnitOfWork


class BookingUnitOfWork(UnitOfWork):
    # Set by the composition root from settings.
    default_policy: BookingPolicy
    saga_timeout: timedelta

    def _open(self) -> None:
        self.classes = ClassRepository(self.session)
        self.bookings = BookingRepository(self.session)
        self.waitlist = WaitlistRepository(self.session)
        self.policies = PolicyRepository(self.session, self.default_policy)
        self.suspensions = SuspensionRepository(self.session)
        self.members = MemberRepository(self.session)

    async def lock_client(self, organization_id: object, client_id: object) -> None:
        """Serialize one client's bookings (overlap checks) without touching anyone else's."""
        await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.func.hashtextextended(f"{organization_id}:{client_id}", 0))))

    def announce_outcome(self, booking: Booking) -> None:
        """Wake whichever replica holds the client's request; delivered only if this unit commits."""
        self.notify(CHANNEL, payload(booking))
