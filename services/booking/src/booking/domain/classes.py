"""Booking's own copy of each class, and its seats: what it needs to take bookings without asking scheduling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from studio_platform.errors import Conflict


@dataclass(frozen=True)
class BookableClass:
    id: UUID
    organization_id: UUID
    name: str
    studio_id: UUID
    instructor_id: UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime
    late_cancel_cutoff: datetime
    status: str
    version: int


@dataclass(frozen=True)
class Seats:
    """The class's seats as booking counts them: held by pending bookings as by confirmed ones."""

    capacity: int
    held: int
    confirmed: int
    waitlisted: int
    version: int

    @property
    def pending(self) -> int:
        return self.held - self.confirmed

    @property
    def left(self) -> int:
        return seats_left(self.capacity, self.held)


def seats_left(capacity: int, held: int) -> int:
    """Seats still to take: none when more are held than the class has (its capacity was lowered)."""
    return max(0, capacity - held)


def registration_open(cls: BookableClass, now: datetime) -> bool:
    opened = cls.registration_opens_at is None or cls.registration_opens_at <= now
    return cls.status == "scheduled" and opened and now < cls.registration_closes_at


def ensure_bookable(cls: BookableClass, now: datetime) -> None:
    if cls.status != "scheduled":
        raise Conflict("The class is cancelled.", code="class-cancelled")
    if cls.registration_opens_at and now < cls.registration_opens_at:
        raise Conflict(f"Registration opens at {cls.registration_opens_at.isoformat()}.", code="registration-not-open",
                       opens_at=cls.registration_opens_at.isoformat())
    if now >= cls.registration_closes_at:
        raise Conflict("Registration for this class has closed.", code="registration-closed")


def is_newer(incoming: BookableClass, held: BookableClass | None) -> bool:
    """Events may arrive out of order; only a higher version replaces what we hold."""
    return held is None or incoming.version > held.version
