"""A booking and its life: requested (holding a seat), then confirmed or refused, then maybe cancelled.

Its confirmation (status, package and time set, while still pending) is done by the database, for a whole
batch of billing's answers in one conditional statement (`BookingRepository.confirm_pending`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from booking.domain.classes import BookableClass
from booking.domain.policy import BookingPolicy
from studio_platform.errors import Conflict

ACTIVE = ("pending", "confirmed")
FINAL = ("confirmed", "rejected", "failed", "cancelled", "late_cancelled")
CreditOutcome = Literal["refunded", "released", "forfeited", "kept-fee-due"]
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)


def new_reference() -> str:
    return "BK-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))


@dataclass
class Booking:
    id: UUID
    organization_id: UUID
    reference: str
    class_id: UUID
    client_id: UUID
    studio_id: UUID
    instructor_id: UUID
    class_starts_at: datetime
    class_ends_at: datetime
    status: str
    source: str
    requested_at: datetime
    deadline_at: datetime
    idempotency_key: str | None = None
    waitlist_entry_id: UUID | None = None
    package_id: UUID | None = None
    reason: str | None = None
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: UUID | None = None
    credit_outcome: str | None = None
    events: list[str] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def request(cls, *, of: BookableClass, client_id: UUID, now: datetime, timeout: timedelta,
                source: str = "direct", idempotency_key: str | None = None,
                waitlist_entry_id: UUID | None = None) -> Booking:
        booking = cls(id=uuid4(), organization_id=of.organization_id, reference=new_reference(), class_id=of.id,
                      client_id=client_id, studio_id=of.studio_id, instructor_id=of.instructor_id,
                      class_starts_at=of.starts_at, class_ends_at=of.ends_at, status="pending", source=source,
                      requested_at=now, deadline_at=now + timeout, idempotency_key=idempotency_key,
                      waitlist_entry_id=waitlist_entry_id)
        booking.events.append("requested")
        return booking

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def refuse(self, reason: str) -> None:
        """Billing said no (`rejected`), or no answer came in time (`failed`)."""
        self.status = "failed" if reason == "timeout" else "rejected"
        self.reason = reason
        self.events.append("rejected")

    def cancel_with_class(self, now: datetime) -> CreditOutcome:
        """The studio cancelled the class: everyone gets their credit back, whatever the policy."""
        outcome: CreditOutcome = "released" if self.status == "pending" else "refunded"
        self.status, self.cancelled_at, self.reason, self.credit_outcome = "cancelled", now, "class-cancelled", outcome
        self.events.append("cancelled")
        return outcome

    def cancel(self, *, now: datetime, by: UUID | None, reason: str | None, policy: BookingPolicy,
               late_cancel_cutoff: datetime, waive_late_cancel: bool = False) -> CreditOutcome:
        """Cancel, and say what happens to the credit under the studio's policy."""
        if self.status not in ACTIVE:
            raise Conflict(f"This booking is already {self.status.replace('_', ' ')}.", code="not-cancellable")
        if now >= self.class_starts_at:
            raise Conflict("The class has started; it can no longer be cancelled.", code="class-started")
        self.cancelled_at, self.cancelled_by, self.reason = now, by, reason
        if self.status == "pending":
            outcome: CreditOutcome = "released"
            self.status = "cancelled"
        elif now < late_cancel_cutoff or waive_late_cancel:
            outcome = "refunded"
            self.status = "cancelled"
        else:
            outcome = "forfeited" if policy.late_cancel_policy == "forfeit" else "kept-fee-due"
            self.status = "late_cancelled"
        self.credit_outcome = outcome
        self.events.append(self.status)
        return outcome


# What a step of the saga or a cancellation changes in a booking; the rest is fixed when it is requested.
SETTLED_FIELDS = ("status", "package_id", "reason", "confirmed_at", "cancelled_at", "cancelled_by", "credit_outcome")


@dataclass(frozen=True)
class Outcome:
    """Where a booking now stands: all a request waiting on its saga needs to answer."""

    fields: dict[str, Any]

    @classmethod
    def of(cls, booking: Booking) -> Outcome:
        return cls({name: getattr(booking, name) for name in SETTLED_FIELDS})

    def applied_to(self, booking: Booking) -> Booking:
        return replace(booking, **self.fields, events=[])
