from datetime import timedelta

from booking.adapters.outcomes import OutcomeWaiter
from booking.adapters.repository import (
    BookingRepository,
    ClassRepository,
    MemberRepository,
    PolicyRepository,
    SuspensionRepository,
    WaitlistRepository,
)
from booking.domain.bookings import Booking, Outcome
from booking.domain.policy import BookingPolicy
from studio_platform.uow import UnitOfWork


class BookingUnitOfWork(UnitOfWork):
    # Set by the composition root from settings.
    default_policy: BookingPolicy
    saga_timeout: timedelta
    outcomes: OutcomeWaiter

    def _open(self) -> None:
        self.classes = ClassRepository(self.db)
        self.bookings = BookingRepository(self.db)
        self.waitlist = WaitlistRepository(self.db)
        self.policies = PolicyRepository(self.db, self.default_policy)
        self.suspensions = SuspensionRepository(self.db)
        self.members = MemberRepository(self.db)

    def announce_outcome(self, booking: Booking) -> None:
        """Wake whichever replica holds the client's request, once (and only if) this unit commits."""
        outcome = Outcome.of(booking)  # as it stands now: the unit may change it again before committing
        self.after_commit(lambda: self.outcomes.announce(booking.id, outcome))
