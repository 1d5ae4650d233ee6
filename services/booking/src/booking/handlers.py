"""Booking's use cases."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from booking.domain.classes import BookableClass
from booking.unit_of_work import BookingUnitOfWork
from studio_contracts import EventMeta, scheduling
from studio_platform.auth import Principal
from studio_platform.errors import NotFound


async def remember_class(event: scheduling.ClassSnapshot, meta: EventMeta, uow: BookingUnitOfWork) -> None:
    await uow.classes.remember(BookableClass(
        id=event.class_id, organization_id=event.organization_id, studio_id=event.studio_id,
        instructor_id=event.instructor_id, starts_at=event.starts_at, ends_at=event.ends_at,
        capacity=event.capacity, registration_opens_at=event.registration_opens_at,
        registration_closes_at=event.registration_closes_at, late_cancel_cutoff=event.late_cancel_cutoff,
        status=event.status, version=event.version))


async def class_availability(uow: BookingUnitOfWork, *, principal: Principal,
                             class_id: UUID) -> tuple[BookableClass, bool]:
    async with uow:
        bookable = await uow.classes.get(principal.org, class_id)
    if bookable is None:
        raise NotFound("No such class.", code="class-not-found")
    return bookable, bookable.registration_open(datetime.now(UTC))
