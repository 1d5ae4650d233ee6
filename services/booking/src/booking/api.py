"""Booking's HTTP API: parse, call a handler, shape the reply."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from booking import handlers
from booking.unit_of_work import BookingUnitOfWork
from studio_platform.auth import CurrentPrincipal
from studio_platform.problems import error_responses

router = APIRouter(prefix="/v1")


def uow(request: Request) -> BookingUnitOfWork:
    return request.app.state.uow()


UoW = Annotated[BookingUnitOfWork, Depends(uow)]


class ClassAvailability(BaseModel):
    class_id: UUID
    version: int
    status: str
    capacity: int
    starts_at: datetime
    registration_open: bool
    registration_closes_at: datetime


@router.get("/classes/{class_id}/availability", response_model=ClassAvailability,
            operation_id="getClassAvailability", summary="Booking's view of a class", tags=["bookings"],
            responses=error_responses(401, 403, 404, 422))
async def class_availability(class_id: UUID, principal: CurrentPrincipal, uow: UoW) -> ClassAvailability:
    bookable, registration_open = await handlers.class_availability(uow, principal=principal, class_id=class_id)
    return ClassAvailability(class_id=bookable.id, version=bookable.version, status=bookable.status,
                             capacity=bookable.capacity, starts_at=bookable.starts_at,
                             registration_open=registration_open,
                             registration_closes_at=bookable.registration_closes_at)
