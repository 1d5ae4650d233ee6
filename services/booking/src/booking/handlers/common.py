"""What every booking use case shares: the clock, and the events that describe a change."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from booking.domain.bookings import Booking
from booking.domain.classes import BookableClass, Seats
from booking.domain.waitlist import WaitlistEntry
from booking.unit_of_work import BookingUnitOfWork
from studio_contracts import Event, billing
from studio_contracts import booking as events
from studio_platform.auth import Principal
from studio_platform.errors import Forbidden, NotFound

_BOOKING_EVENTS: dict[str, type[events.BookingSnapshot]] = {
    "requested": events.BookingRequested,
    "confirmed": events.BookingConfirmed,
    "rejected": events.BookingRejected,
    "cancelled": events.BookingCancelled,
    "late_cancelled": events.BookingLateCancelled,
}


def now() -> datetime:
    return datetime.now(UTC)


def publish_booking_changes(uow: BookingUnitOfWork, booking: Booking, **extra: object) -> None:
    for change in booking.events:
        cls = _BOOKING_EVENTS[change]
        fields: dict[str, object] = {}
        if change == "confirmed":
            fields["package_id"] = booking.package_id
        if change in ("cancelled", "late_cancelled"):
            fields.update(cancelled_by=booking.cancelled_by, credit=booking.credit_outcome, **extra)
        uow.publish(cls(organization_id=booking.organization_id, booking_id=booking.id, reference=booking.reference,
                        class_id=booking.class_id, client_id=booking.client_id, studio_id=booking.studio_id,
                        instructor_id=booking.instructor_id, class_starts_at=booking.class_starts_at,
                        status=booking.status, source=booking.source, reason=booking.reason, **fields),
                    subject=str(booking.id))
    booking.events.clear()


def publish_seats(uow: BookingUnitOfWork, cls: BookableClass, seats: Seats | None) -> None:
    if seats is None:
        return
    uow.publish(events.ClassAvailabilityChanged(
        organization_id=cls.organization_id, class_id=cls.id, studio_id=cls.studio_id, capacity=seats.capacity,
        confirmed=seats.confirmed, pending=seats.pending, spots_left=seats.left, waitlisted=seats.waitlisted,
        seats_version=seats.version), subject=str(cls.id))


def publish_waitlist(uow: BookingUnitOfWork, event_cls: type[events.WaitlistSnapshot], entry: WaitlistEntry,
                     cls: BookableClass, **fields: object) -> None:
    uow.publish(event_cls(organization_id=entry.organization_id, entry_id=entry.id, class_id=entry.class_id,
                          client_id=entry.client_id, studio_id=cls.studio_id, instructor_id=cls.instructor_id,
                          class_starts_at=cls.starts_at, **fields), subject=str(entry.id))


def ask_for_credit(uow: BookingUnitOfWork, booking: Booking) -> None:
    """The saga's first step leaves with the booking in the same transaction (its deadline is the row's)."""
    uow.publish(billing.ReserveCredit(organization_id=booking.organization_id, booking_id=booking.id,
                                      client_id=booking.client_id, class_id=booking.class_id,
                                      studio_id=booking.studio_id, class_starts_at=booking.class_starts_at),
                subject=str(booking.id))


def credit_command(uow: BookingUnitOfWork, booking: Booking, outcome: str, reason: str) -> None:
    """Tell billing what becomes of the booking's credit."""
    common = {"organization_id": booking.organization_id, "booking_id": booking.id, "client_id": booking.client_id}
    command: Event
    if outcome == "released":
        command = billing.ReleaseCredit(**common, reason=reason)
    elif outcome in ("refunded", "kept-fee-due"):
        command = billing.RefundCredit(**common, reason=reason)
    else:
        command = billing.ConsumeCredit(**common, reason="late-cancel")
    uow.publish(command, subject=str(booking.id))


def no_such_class() -> NotFound:
    return NotFound("No such class.", code="class-not-found")


async def class_or_404(uow: BookingUnitOfWork, organization_id: UUID, class_id: UUID, *,
                       lock: bool = False) -> BookableClass:
    cls = await uow.classes.get(organization_id, class_id, lock=lock)
    if cls is None:
        raise no_such_class()
    return cls


async def class_and_seats_or_404(uow: BookingUnitOfWork, organization_id: UUID,
                                 class_id: UUID) -> tuple[BookableClass, Seats]:
    found = await uow.classes.get_with_seats(organization_id, class_id)
    if found is None:
        raise no_such_class()
    return found


def ensure_staff_of(principal: Principal, cls: BookableClass) -> None:
    """The class's own instructor, its studio's managers and the owners see its roster."""
    if not (principal.manages_studio(cls.studio_id) or principal.user_id == cls.instructor_id):
        raise Forbidden("Only the class's instructor and the studio's managers may see this.", code="not-class-staff")
