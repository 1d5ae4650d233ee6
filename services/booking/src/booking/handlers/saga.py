"""The booking saga's answers: billing's replies, deadlines, and filling freed seats from the waitlist.

Every step is idempotent: a reply for a booking that has moved on is either
ignored or, if it reserved a credit the booking no longer needs, undone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from booking.domain.bookings import Booking
from booking.domain.classes import BookableClass
from booking.handlers.common import (
    ask_for_credit,
    credit_command,
    now,
    publish_booking_changes,
    publish_seats,
    publish_waitlist,
)
from booking.unit_of_work import BookingUnitOfWork
from studio_contracts import EventMeta, billing
from studio_contracts import booking as events

log = logging.getLogger(__name__)


async def on_credits_reserved(answers: list[tuple[billing.CreditReserved, EventMeta]], uow: BookingUnitOfWork) -> None:
    """Billing's usual answers, a batch at a time: those to bookings still pending are confirmed in one statement.

    The seats were held since the requests, so the classes' rows stay as they are (and unlocked): only a
    promotion's shorter waitlist is news to browsers.
    """
    confirmed = await uow.bookings.confirm_pending(
        [(a.organization_id, a.booking_id, a.package_id) for a, _ in answers], now())
    for booking in confirmed:
        await _confirmed(uow, booking)
    done = {booking.id for booking in confirmed}
    for answer, _ in answers:
        if answer.booking_id not in done:
            done.add(answer.booking_id)
            await _reserved_too_late(uow, answer)


async def _reserved_too_late(uow: BookingUnitOfWork, answer: billing.CreditReserved) -> None:
    booking = await uow.bookings.get(answer.organization_id, answer.booking_id, lock=True)
    if booking is not None and booking.status != "confirmed":
        # The booking failed or was cancelled meanwhile, so the credit goes back.
        credit_command(uow, booking, "released", reason=f"booking {booking.status}")


async def _confirmed(uow: BookingUnitOfWork, booking: Booking) -> None:
    publish_booking_changes(uow, booking)
    if booking.waitlist_entry_id:
        cls = await uow.classes.get(booking.organization_id, booking.class_id)
        entry = await uow.waitlist.get(booking.organization_id, booking.waitlist_entry_id, lock=True)
        if cls is not None and entry is not None:
            await uow.waitlist.set_status(entry, "promoted")
            seats = await uow.classes.count_waitlisted(entry.organization_id, entry.class_id, -1)
            publish_waitlist(uow, events.WaitlistPromoted, entry, cls, booking_id=booking.id)
            publish_seats(uow, cls, seats)
    uow.announce_outcome(booking)


async def on_credit_rejected(event: billing.CreditRejected, meta: EventMeta, uow: BookingUnitOfWork) -> None:
    booking = await uow.bookings.get(event.organization_id, event.booking_id, lock=True)
    if booking is None or not booking.pending:
        return
    await _give_up(uow, booking, reason=event.reason, credit_refused=True)


# Sagas failed per tick, in the tick's one transaction; a backlog drains over the next ticks.
OVERDUE_PER_TICK = 100


async def on_tick(event: events.BookingTick, meta: EventMeta, uow: BookingUnitOfWork) -> None:
    """Fail every saga past its deadline (their pending rows are indexed by deadline, so a quiet tick is cheap).

    Each in a savepoint of its own: one that cannot be failed (its seat counts out of step, say) is
    logged and tried again next tick, and does not hold back every other deadline with it.
    """
    moment = now()
    for organization_id, booking_id in await uow.bookings.overdue(moment, limit=OVERDUE_PER_TICK):
        try:
            async with uow.savepoint():
                await fail_if_overdue(uow, organization_id, booking_id, moment)
        except Exception:
            log.exception("booking %s is past its deadline but could not be failed; the next tick tries again",
                          booking_id)


async def fail_if_overdue(uow: BookingUnitOfWork, organization_id: UUID, booking_id: UUID, moment: datetime) -> None:
    """Billing never answered in time: the booking fails, its seat is freed and any credit taken is released."""
    booking = await uow.bookings.get(organization_id, booking_id, lock=True)
    if booking is None or not booking.pending or booking.deadline_at > moment:
        return
    credit_command(uow, booking, "released", reason="saga timed out")
    await _give_up(uow, booking, reason="timeout", credit_refused=False)


async def _give_up(uow: BookingUnitOfWork, booking: Booking, *, reason: str, credit_refused: bool) -> None:
    """The booking didn't happen: free its seat and offer it to the next in line."""
    booking.refuse(reason)
    publish_booking_changes(uow, booking)
    after_seq = None
    cls = await uow.classes.get(booking.organization_id, booking.class_id, lock=True)
    if booking.waitlist_entry_id and cls is not None:
        after_seq = await _skip_waitlisted(uow, booking, cls, reason=reason, credit_refused=credit_refused)
    changed = await uow.bookings.save_freeing_seat(booking)
    if cls is not None:
        publish_seats(uow, cls, changed[1] if changed else None)
        await promote_next(uow, cls, after_seq=after_seq)
    uow.announce_outcome(booking)


async def _skip_waitlisted(uow: BookingUnitOfWork, booking: Booking, cls: BookableClass, *, reason: str,
                           credit_refused: bool) -> int | None:
    """A promoted client whose credit was refused keeps their place, unless their package has expired."""
    assert booking.waitlist_entry_id is not None
    entry = await uow.waitlist.get(booking.organization_id, booking.waitlist_entry_id, lock=True)
    if entry is None:
        return None
    removed = credit_refused and reason == "expired"
    await uow.waitlist.set_status(entry, "removed" if removed else "waiting", reason)
    if removed:
        await uow.classes.count_waitlisted(entry.organization_id, entry.class_id, -1)
    publish_waitlist(uow, events.WaitlistSkipped, entry, cls, reason=reason, removed=removed)
    return entry.seq


async def promote_next(uow: BookingUnitOfWork, cls: BookableClass, *, after_seq: int | None = None) -> UUID | None:
    """Offer one freed seat to the first client waiting (after `after_seq`), through the same saga.

    The seat is taken with the same conditional update as any booking, so
    concurrent openings never promote more people than there are seats.
    """
    policy = await uow.policies.for_studio(cls.organization_id, cls.studio_id)
    moment = now()
    if cls.status != "scheduled" or not policy.promotes_at(cls.starts_at, moment):
        return None
    while True:
        entry = await uow.waitlist.next_waiting(cls.organization_id, cls.id, after_seq)
        if entry is None:
            return None
        after_seq = entry.seq
        if await uow.bookings.active(cls.organization_id, cls.id, entry.client_id) is not None:
            # They booked a seat themselves meanwhile: their place is done with.
            await uow.waitlist.set_status(entry, "booked")
            await uow.classes.count_waitlisted(cls.organization_id, cls.id, -1)
            continue
        # A suspended client, or one booked elsewhere at that time, is passed over but keeps their place.
        if await uow.suspensions.until(cls.organization_id, entry.client_id, moment) is None and \
                await uow.bookings.overlapping(cls.organization_id, entry.client_id, cls.starts_at,
                                               cls.ends_at) is None:
            break
    booking = Booking.request(of=cls, client_id=entry.client_id, now=moment, timeout=uow.saga_timeout,
                              source="waitlist", waitlist_entry_id=entry.id)
    seats = await uow.bookings.add_holding_seat(booking)
    if seats is None:
        return None
    await uow.waitlist.set_status(entry, "promoting")
    ask_for_credit(uow, booking)
    publish_booking_changes(uow, booking)
    publish_seats(uow, cls, seats)
    return booking.id
