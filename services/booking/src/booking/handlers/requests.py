"""A client books or cancels; staff cancel on a client's behalf; everyone reads what they may."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from booking.adapters.outcomes import OutcomeWaiter
from booking.adapters.repository import FirstLook
from booking.domain.bookings import Booking, Outcome
from booking.domain.classes import BookableClass, Seats, ensure_bookable
from booking.domain.policy import BookingPolicy
from booking.handlers.common import (
    ask_for_credit,
    class_and_seats_or_404,
    class_or_404,
    credit_command,
    ensure_staff_of,
    no_such_class,
    now,
    publish_booking_changes,
    publish_seats,
)
from booking.handlers.saga import promote_next
from booking.unit_of_work import BookingUnitOfWork
from studio_platform.auth import Principal
from studio_platform.errors import Conflict, Forbidden, NotFound


async def book(uow: BookingUnitOfWork, *, principal: Principal, class_id: UUID, idempotency_key: str | None,
               waiter: OutcomeWaiter | None, wait_seconds: float, gate: AbstractAsyncContextManager[Any]) -> Booking:
    """Hold a seat and ask billing for a credit; wait a moment for the answer.

    The attempt itself passes through `gate`, which lets a few in at a time: in a rush, those that wait
    find the class full in their first read and are answered cheaply, instead of all running the whole
    attempt at once only to lose the seat at the end, and the saga's next steps are not starved of the
    event loop meanwhile. The wait for billing's answer is outside it.
    """
    async with gate:
        booking, answered = await _attempt(uow, principal, class_id, idempotency_key, waiter)
    if waiter and answered is not None:
        outcome = await waiter.wait(booking.id, answered, wait_seconds)
        if outcome is not None:
            return outcome.applied_to(booking)
    return booking


async def _attempt(uow: BookingUnitOfWork, principal: Principal, class_id: UUID, idempotency_key: str | None,
                   waiter: OutcomeWaiter | None) -> tuple[Booking, asyncio.Future[Outcome] | None]:
    """The booking (pending, or an earlier one with the same key), and how to hear its outcome."""
    org, client_id = principal.org, principal.user_id
    moment = now()
    async with uow:
        # One statement first, which also takes the client's lock: most requests in a flash sale find the class
        # full in it and are answered. The conditional update below is the authority on seats.
        look = await uow.classes.first_look(org, class_id, client_id, uow.default_policy, idempotency_key, moment)
        if look is None:
            raise no_such_class()
        if look.earlier is not None:
            return _retried(look.earlier, class_id), None
        cls = look.cls
        _refuse_unless_open(look, moment)
        booking = Booking.request(of=cls, client_id=client_id, now=moment, timeout=uow.saga_timeout,
                                  idempotency_key=idempotency_key)
        # The seat last (the class's row is everyone's, so its lock is held for as short a time as can be),
        # in the statement that looks for the client's clashing booking.
        seats, clash = await uow.bookings.add_holding_seat_unless_clash(booking)
        if clash is not None:
            if idempotency_key is not None and clash.idempotency_key == idempotency_key:
                return _retried(clash, class_id), None  # a retry that came while its first attempt committed
            raise _clashing(cls, clash)
        # After the retries: a retry of a booking made before the suspension still finds it.
        if (until := look.suspended_until) is not None:
            raise Forbidden(f"Booking is suspended until {until.isoformat()}.", code="client-suspended",
                            suspended_until=until.isoformat())
        if seats is None:
            raise await _class_full_now(uow, cls)
        await _leave_waitlist_on_booking(uow, cls, client_id, seats)
        ask_for_credit(uow, booking)
        publish_booking_changes(uow, booking)
        publish_seats(uow, cls, seats)
        answered = waiter.expect(booking.id) if waiter else None
        await uow.commit()
    return booking, answered


def _retried(earlier: Booking, class_id: UUID) -> Booking:
    """A retry is answered with the booking its key made, which must be of the same class."""
    if earlier.class_id != class_id:
        raise Conflict("That Idempotency-Key was used for another class.", code="idempotency-key-reused")
    return earlier


def _refuse_unless_open(look: FirstLook, moment: datetime) -> None:
    """Registration closed, or the class full as last seen: answered at once, without a seat's locks."""
    ensure_bookable(look.cls, moment)
    if look.seats_left == 0:
        if look.booked is not None:
            raise _already_booked(look.booked)
        raise _class_full(look.policy, look.waitlisted, look.seats_version)


async def _class_full_now(uow: BookingUnitOfWork, cls: BookableClass) -> Conflict:
    seats = await uow.classes.seats(cls.organization_id, cls.id)
    policy = await uow.policies.for_studio(cls.organization_id, cls.studio_id)
    if seats is None:  # the class is gone meanwhile
        return _class_full(policy, None, None)
    return _class_full(policy, seats.waitlisted, seats.version)


def _class_full(policy: BookingPolicy, waitlisted: int | None, seats_version: int | None) -> Conflict:
    """`waitlisted` None: the class's seats could not be read, so there is no waitlist to offer."""
    return Conflict("This class just filled up; join the waitlist instead.", code="class-full",
                    waitlist_open=waitlisted is not None and waitlisted < policy.waitlist_limit,
                    waitlisted=waitlisted or 0, seats_version=seats_version)


def _already_booked(existing: Booking) -> Conflict:
    return Conflict("You have already booked this class.", code="already-booked", booking_id=str(existing.id),
                    reference=existing.reference)


def _clashing(cls: BookableClass, clash: Booking) -> Conflict:
    if clash.class_id == cls.id:
        return _already_booked(clash)
    return Conflict("You have another booking at that time.", code="overlapping-booking",
                    booking_id=str(clash.id), reference=clash.reference)


async def _leave_waitlist_on_booking(uow: BookingUnitOfWork, cls: BookableClass, client_id: UUID,
                                     seats: Seats) -> None:
    if seats.waitlisted == 0:  # it counts every open place (waiting or promoting), so theirs too
        return
    place = await uow.waitlist.place(cls.organization_id, cls.id, client_id)
    if place is not None and place.status == "waiting":
        await uow.waitlist.set_status(place, "booked")
        await uow.classes.count_waitlisted(cls.organization_id, cls.id, -1)


async def cancel(uow: BookingUnitOfWork, *, principal: Principal, booking_id: UUID, reason: str | None,
                 waive_late_cancel: bool = False) -> Booking:
    """The client, or staff on their behalf; the studio's policy decides what happens to the credit."""
    async with uow:
        booking = await uow.bookings.get(principal.org, booking_id, lock=True)
        if booking is None:
            raise NotFound("No such booking.", code="booking-not-found")
        cls = await class_or_404(uow, booking.organization_id, booking.class_id, lock=True)
        if booking.client_id != principal.user_id and not principal.manages_studio(cls.studio_id):
            raise NotFound("No such booking.", code="booking-not-found")
        if waive_late_cancel and not principal.manages_studio(cls.studio_id):
            raise Forbidden("Only the studio's managers may waive the late-cancel policy.", code="not-studio-manager")
        policy = await uow.policies.for_studio(booking.organization_id, cls.studio_id)
        outcome = booking.cancel(now=now(), by=principal.user_id, reason=reason, policy=policy,
                                 late_cancel_cutoff=cls.late_cancel_cutoff, waive_late_cancel=waive_late_cancel)
        credit_command(uow, booking, outcome, reason=reason or booking.status)
        fee = ({"fee_minor": policy.late_cancel_fee_minor, "fee_currency": policy.currency}
               if outcome == "kept-fee-due" else {})
        publish_booking_changes(uow, booking, **fee)
        changed = await uow.bookings.save_freeing_seat(booking)
        publish_seats(uow, cls, changed[1] if changed else None)
        await promote_next(uow, cls)
        uow.announce_outcome(booking)
        await uow.commit()
    return booking


async def get_booking(uow: BookingUnitOfWork, *, principal: Principal, booking_id: UUID) -> Booking:
    async with uow.reading():
        booking = await uow.bookings.get(principal.org, booking_id)
        if booking is None:
            raise NotFound("No such booking.", code="booking-not-found")
        if booking.client_id != principal.user_id:
            cls = await class_or_404(uow, booking.organization_id, booking.class_id)
            try:
                ensure_staff_of(principal, cls)
            except Forbidden:
                raise NotFound("No such booking.", code="booking-not-found") from None
    return booking


@dataclass(frozen=True)
class BookingLine:
    booking: Booking
    class_name: str


async def my_bookings(uow: BookingUnitOfWork, *, principal: Principal, upcoming: bool, limit: int,
                      before: tuple[datetime, UUID] | None) -> list[BookingLine]:
    async with uow:
        found = await uow.bookings.for_client(principal.org, principal.user_id, upcoming=upcoming, now=now(),
                                              limit=limit, before=before)
        names = {}
        for booking in found:
            if booking.class_id not in names:
                cls = await uow.classes.get(principal.org, booking.class_id)
                names[booking.class_id] = cls.name if cls else ""
    return [BookingLine(b, names[b.class_id]) for b in found]


@dataclass(frozen=True)
class Roster:
    cls: BookableClass
    seats: Seats
    bookings: list[Booking]
    waitlist: list[tuple[UUID, UUID, str]]  # (entry id, client id, status) in line order
    names: dict[UUID, str]


async def roster(uow: BookingUnitOfWork, *, principal: Principal, class_id: UUID) -> Roster:
    async with uow:
        cls = await class_or_404(uow, principal.org, class_id)
        ensure_staff_of(principal, cls)
        seats = await uow.classes.seats(cls.organization_id, cls.id)
        assert seats is not None
        bookings = await uow.bookings.roster(cls.organization_id, cls.id)
        waiting = await uow.waitlist.open_for_class(cls.organization_id, cls.id)
        names = await uow.members.names(cls.organization_id, {b.client_id for b in bookings}
                                        | {e.client_id for e in waiting})
    return Roster(cls, seats, bookings, [(e.id, e.client_id, e.status) for e in waiting], names)


async def availability(uow: BookingUnitOfWork, *, principal: Principal, class_id: UUID) -> tuple[BookableClass, Seats]:
    async with uow.reading():
        return await class_and_seats_or_404(uow, principal.org, class_id)
