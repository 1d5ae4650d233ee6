"""A class's waitlist: first come, first served, and only for a class that is full."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from booking.domain.classes import BookableClass, Seats
from booking.domain.policy import BookingPolicy
from studio_platform.errors import Conflict

WAITING = ("waiting", "promoting")


@dataclass
class WaitlistEntry:
    id: UUID
    organization_id: UUID
    class_id: UUID
    client_id: UUID
    status: str
    joined_at: datetime
    seq: int | None = None  # the order of joining, given by the database
    reason: str | None = None

    @classmethod
    def join(cls, *, of: BookableClass, client_id: UUID, seats: Seats, policy: BookingPolicy,
             now: datetime) -> WaitlistEntry:
        if of.status != "scheduled" or now >= of.registration_closes_at:
            raise Conflict("Registration for this class has closed.", code="registration-closed")
        if seats.left > 0:
            raise Conflict("The class has spots left: book it instead.", code="class-has-spots",
                           spots_left=seats.left)
        if seats.waitlisted >= policy.waitlist_limit:
            raise Conflict("The waitlist is full.", code="waitlist-full", waitlist_limit=policy.waitlist_limit)
        return cls(id=uuid4(), organization_id=of.organization_id, class_id=of.id, client_id=client_id,
                   status="waiting", joined_at=now)
