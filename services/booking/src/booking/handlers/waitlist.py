"""Joining and leaving a full class's waitlist, and seeing one's places in line."""

from __future__ import annotations

from uuid import UUID

from booking.domain.waitlist import WaitlistEntry
from booking.handlers.common import class_or_404, now, publish_seats, publish_waitlist
from booking.unit_of_work import BookingUnitOfWork
from studio_contracts import booking as events
from studio_platform.auth import Principal
from studio_platform.errors import Conflict, NotFound


async def join(uow: BookingUnitOfWork, *, principal: Principal, class_id: UUID) -> tuple[WaitlistEntry, int]:
    org, client_id = principal.org, principal.user_id
    async with uow:
        cls = await class_or_404(uow, org, class_id, lock=True)  # one join at a time per class keeps the limit
        if await uow.bookings.active(org, class_id, client_id) is not None:
            raise Conflict("You have already booked this class.", code="already-booked")
        if await uow.waitlist.place(org, class_id, client_id) is not None:
            raise Conflict("You are already on this waitlist.", code="already-waiting")
        seats = await uow.classes.seats(org, class_id)
        assert seats is not None
        policy = await uow.policies.for_studio(org, cls.studio_id)
        entry = await uow.waitlist.add(WaitlistEntry.join(of=cls, client_id=client_id, seats=seats, policy=policy,
                                                          now=now()))
        seats = await uow.classes.count_waitlisted(org, class_id, +1)
        assert seats is not None
        publish_waitlist(uow, events.WaitlistJoined, entry, cls, position=seats.waitlisted)
        publish_seats(uow, cls, seats)
        await uow.commit()
    return entry, seats.waitlisted


async def leave(uow: BookingUnitOfWork, *, principal: Principal, class_id: UUID) -> None:
    org = principal.org
    async with uow:
        cls = await class_or_404(uow, org, class_id, lock=True)
        entry = await uow.waitlist.place(org, class_id, principal.user_id)
        if entry is None:
            raise NotFound("You are not on this waitlist.", code="not-waiting")
        if entry.status == "promoting":
            raise Conflict("A seat is being offered to you right now; cancel the booking instead.",
                           code="being-promoted")
        await uow.waitlist.set_status(entry, "left")
        seats = await uow.classes.count_waitlisted(org, class_id, -1)
        publish_waitlist(uow, events.WaitlistLeft, entry, cls)
        publish_seats(uow, cls, seats)
        await uow.commit()


async def my_places(uow: BookingUnitOfWork, *, principal: Principal) -> list[tuple[WaitlistEntry, int, str, object]]:
    """Each open place with its position (1 = next), and the class's name and start."""
    async with uow:
        places = await uow.waitlist.positions_for_client(principal.org, principal.user_id)
        result = []
        for entry, position in places:
            cls = await uow.classes.get(principal.org, entry.class_id)
            result.append((entry, position, cls.name if cls else "", cls.starts_at if cls else None))
    return result
