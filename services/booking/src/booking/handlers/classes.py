"""Keeping booking's copy of classes (and of people's names) from the other services' events.

When scheduling cancels a class, everyone booked is cancelled and refunded;
when it adds seats, the waitlist moves up; when it moves the class, bookings
move with it.
"""

from __future__ import annotations

from booking.domain.classes import BookableClass, is_newer
from booking.handlers.common import credit_command, now, publish_booking_changes, publish_seats, publish_waitlist
from booking.handlers.saga import promote_next
from booking.unit_of_work import BookingUnitOfWork
from studio_contracts import EventMeta, identity, scheduling
from studio_contracts import booking as events


async def remember_class(event: scheduling.ClassSnapshot, meta: EventMeta | None, uow: BookingUnitOfWork) -> None:
    incoming = BookableClass(
        id=event.class_id, organization_id=event.organization_id, name=event.name, studio_id=event.studio_id,
        instructor_id=event.instructor_id, starts_at=event.starts_at, ends_at=event.ends_at, capacity=event.capacity,
        registration_opens_at=event.registration_opens_at, registration_closes_at=event.registration_closes_at,
        late_cancel_cutoff=event.late_cancel_cutoff, status=event.status, version=event.version)
    held = await uow.classes.get(incoming.organization_id, incoming.id, lock=True)
    if not is_newer(incoming, held):
        return
    await uow.classes.remember(incoming)
    if held is None:
        return
    if incoming.status == "cancelled" and held.status != "cancelled":
        await _cancel_everyone(uow, incoming)
        return
    if (incoming.starts_at, incoming.ends_at) != (held.starts_at, held.ends_at):
        await uow.bookings.move_class(incoming.organization_id, incoming.id, incoming.starts_at, incoming.ends_at)
    for _ in range(max(0, incoming.capacity - held.capacity)):
        if await promote_next(uow, incoming) is None:
            break


async def _cancel_everyone(uow: BookingUnitOfWork, cls: BookableClass) -> None:
    moment = now()
    seats = None
    for booking in await uow.bookings.active_for_class(cls.organization_id, cls.id):
        outcome = booking.cancel_with_class(moment)
        credit_command(uow, booking, outcome, reason="class cancelled")
        publish_booking_changes(uow, booking)
        changed = await uow.bookings.save_freeing_seat(booking)
        seats = changed[1] if changed else seats
    for entry in await uow.waitlist.open_for_class(cls.organization_id, cls.id):
        await uow.waitlist.set_status(entry, "closed", "class-cancelled")
        seats = await uow.classes.count_waitlisted(cls.organization_id, cls.id, -1)
        publish_waitlist(uow, events.WaitlistLeft, entry, cls)
    publish_seats(uow, cls, seats)


async def remember_member(event: identity.MemberJoined, meta: EventMeta | None, uow: BookingUnitOfWork) -> None:
    await uow.members.remember(event.organization_id, event.user_id, name=event.name, email=event.email,
                               role=event.role)
