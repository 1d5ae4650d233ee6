"""Booking's events: every change of a booking, a waitlist place, or a class's seats.

Each booking event carries the whole booking, so a consumer (notifications,
reporting, the gateway's live updates) needs nothing else to act on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from studio_contracts.base import Event

BookingStatus = Literal["pending", "confirmed", "rejected", "failed", "cancelled", "late_cancelled"]


class BookingSnapshot(Event):
    booking_id: UUID
    reference: str
    class_id: UUID
    client_id: UUID
    studio_id: UUID
    instructor_id: UUID
    class_starts_at: datetime
    status: BookingStatus
    source: Literal["direct", "waitlist"] = "direct"
    reason: str | None = None


class BookingRequested(BookingSnapshot):
    type = "booking.booking.requested.v1"


class BookingConfirmed(BookingSnapshot):
    type = "booking.booking.confirmed.v1"
    package_id: UUID | None = None


class BookingRejected(BookingSnapshot):
    """The credit was refused (`reason`: no-credits, expired) or the saga timed out (`failed`)."""

    type = "booking.booking.rejected.v1"


class BookingCancelled(BookingSnapshot):
    """Cancelled in time (credit refunded) or by the studio; `cancelled_by` is who did it."""

    type = "booking.booking.cancelled.v1"
    cancelled_by: UUID | None = None
    credit: Literal["refunded", "released", "forfeited", "kept-fee-due"]


class BookingLateCancelled(BookingSnapshot):
    """Cancelled after the late-cancel cutoff: the credit is forfeited, or kept with a fee due."""

    type = "booking.booking.late_cancelled.v1"
    cancelled_by: UUID | None = None
    credit: Literal["refunded", "released", "forfeited", "kept-fee-due"]
    fee_minor: int | None = None
    fee_currency: str | None = None


class WaitlistSnapshot(Event):
    entry_id: UUID
    class_id: UUID
    client_id: UUID
    studio_id: UUID
    instructor_id: UUID
    class_starts_at: datetime


class WaitlistJoined(WaitlistSnapshot):
    type = "booking.waitlist.joined.v1"
    position: int


class WaitlistLeft(WaitlistSnapshot):
    type = "booking.waitlist.left.v1"


class WaitlistPromoted(WaitlistSnapshot):
    """A freed seat went to this client; their booking follows the saga (see booking events)."""

    type = "booking.waitlist.promoted.v1"
    booking_id: UUID


class WaitlistSkipped(WaitlistSnapshot):
    """Their credit was refused when a seat opened; `removed` when an expired package ends their place."""

    type = "booking.waitlist.skipped.v1"
    reason: str
    removed: bool


class ClassAvailabilityChanged(Event):
    """A class's seats as browsing shows them changed: spots left (a seat held or freed), the waitlist, the capacity.

    A held seat becoming confirmed changes none of them and is not announced here (`booking.booking.confirmed`
    says it), so `confirmed` and `pending` are as of the last change announced; their sum is always current.
    """

    type = "booking.class.availability_changed.v1"
    inbox = False  # a snapshot: apply it only when its seats_version is newer
    class_id: UUID
    studio_id: UUID
    capacity: int
    confirmed: int
    pending: int
    spots_left: int
    waitlisted: int
    seats_version: int = 0  # rises with every change: apply only a newer one


class BookingTick(Event):
    """A repeating JetStream schedule fires this; booking then fails the sagas past their deadline."""

    type = "booking.job.tick.v1"
    inbox = False
