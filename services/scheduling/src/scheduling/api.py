"""Scheduling's HTTP API: parse, call a handler, shape the reply."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from scheduling import handlers
from scheduling.config import SchedulingSettings
from scheduling.domain.browse import TimeOfDay
from scheduling.domain.model import ClassType
from scheduling.unit_of_work import SchedulingUnitOfWork
from studio_platform.auth import CurrentPrincipal
from studio_platform.errors import Invalid
from studio_platform.pagination import decode_cursor, encode_cursor
from studio_platform.problems import error_responses
from studio_platform.schemas import StrictBody

router = APIRouter(prefix="/v1")

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#ff6b35"])]


async def uow(request: Request) -> SchedulingUnitOfWork:
    return request.app.state.uow()


async def settings(request: Request) -> SchedulingSettings:
    return request.app.state.settings


UoW = Annotated[SchedulingUnitOfWork, Depends(uow)]
Settings = Annotated[SchedulingSettings, Depends(settings)]


# --- class types -------------------------------------------------------------------------------

class ClassTypeIn(StrictBody):
    name: str = Field(min_length=1, max_length=80, examples=["Reformer Flow"])
    colour: Colour
    description: str | None = Field(default=None, max_length=2000)
    default_capacity: int = Field(ge=1, le=500)
    default_duration_minutes: int = Field(ge=5, le=720)


class ClassTypeChanges(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    colour: Colour | None = None
    description: str | None = Field(default=None, max_length=2000)
    default_capacity: int | None = Field(default=None, ge=1, le=500)
    default_duration_minutes: int | None = Field(default=None, ge=5, le=720)
    archived: bool | None = None


class ClassTypeOut(BaseModel):
    id: UUID
    name: str
    colour: str
    description: str | None
    default_capacity: int
    default_duration_minutes: int
    archived: bool

    @classmethod
    def of(cls, ct: ClassType) -> ClassTypeOut:
        return cls(id=ct.id, name=ct.name, colour=ct.colour, description=ct.description,
                   default_capacity=ct.default_capacity, default_duration_minutes=ct.default_duration_minutes,
                   archived=ct.archived)


@router.post("/class-types", status_code=201, response_model=ClassTypeOut, operation_id="createClassType",
             summary="Create a class type", tags=["class types"], responses=error_responses(401, 403, 409, 422))
async def create_class_type(body: ClassTypeIn, principal: CurrentPrincipal, uow: UoW) -> ClassTypeOut:
    return ClassTypeOut.of(await handlers.create_class_type(uow, principal=principal, **body.model_dump()))


@router.get("/class-types", response_model=list[ClassTypeOut], operation_id="listClassTypes",
            summary="List class types", tags=["class types"], responses=error_responses(401, 403))
async def list_class_types(principal: CurrentPrincipal, uow: UoW,
                           include_archived: bool = False) -> list[ClassTypeOut]:
    found = await handlers.list_class_types(uow, principal=principal, include_archived=include_archived)
    return [ClassTypeOut.of(ct) for ct in found]


@router.get("/class-types/{class_type_id}", response_model=ClassTypeOut, operation_id="getClassType",
            summary="Get a class type", tags=["class types"], responses=error_responses(401, 403, 404, 422))
async def get_class_type(class_type_id: UUID, principal: CurrentPrincipal, uow: UoW) -> ClassTypeOut:
    return ClassTypeOut.of(await handlers.get_class_type(uow, principal=principal, class_type_id=class_type_id))


@router.patch("/class-types/{class_type_id}", response_model=ClassTypeOut, operation_id="updateClassType",
              summary="Change or archive a class type", tags=["class types"],
              responses=error_responses(401, 403, 404, 409, 422))
async def update_class_type(class_type_id: UUID, body: ClassTypeChanges, principal: CurrentPrincipal,
                            uow: UoW) -> ClassTypeOut:
    changes = body.model_dump(exclude_unset=True)
    return ClassTypeOut.of(await handlers.update_class_type(uow, principal=principal, class_type_id=class_type_id,
                                                            **changes))


# --- classes -----------------------------------------------------------------------------------

class ClassIn(StrictBody):
    class_type_id: UUID
    studio_id: UUID
    instructor_id: UUID
    starts_at: datetime = Field(description="Start, with a UTC offset.")
    ends_at: datetime | None = Field(default=None, description="Defaults to the class type's duration.")
    capacity: int | None = Field(default=None, ge=1, le=500, description="Defaults to the class type's.")
    name: str | None = Field(default=None, max_length=120, description="Defaults to the class type's name.")
    room: str | None = Field(default=None, max_length=80)
    registration_opens_at: datetime | None = Field(default=None, description="Open at once when left out.")
    registration_closes_at: datetime | None = Field(default=None, description="Defaults to the start.")
    late_cancel_cutoff: datetime | None = Field(
        default=None, description="Cancelling after this forfeits the credit; defaults to 12 h before the start.")
    instructor_notes: str | None = Field(default=None, max_length=4000)


class ClassChanges(StrictBody):
    expected_version: int | None = Field(default=None, description="Refuse the change if the class moved on.")
    studio_id: UUID | None = None
    instructor_id: UUID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = Field(default=None, ge=1, le=500)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    room: str | None = Field(default=None, max_length=80)
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    late_cancel_cutoff: datetime | None = None
    instructor_notes: str | None = Field(default=None, max_length=4000)


class CancelIn(StrictBody):
    reason: str | None = Field(default=None, max_length=500)


class StudioRef(BaseModel):
    id: UUID
    name: str | None
    time_zone: str | None


class InstructorRef(BaseModel):
    id: UUID
    name: str | None


class Availability(BaseModel):
    capacity: int
    booked: int
    spots_left: int
    is_full: bool
    waitlisted: int


class ClassOut(BaseModel):
    id: UUID
    version: int
    name: str
    class_type_id: UUID
    studio: StudioRef
    instructor: InstructorRef
    room: str | None
    starts_at: datetime
    ends_at: datetime
    local_date: str | None = Field(description="The start's date in the studio's time zone (for grouping by day).")
    local_start_time: str | None = Field(description="The start's wall-clock time at the studio, HH:MM.")
    registration_opens_at: datetime | None
    registration_closes_at: datetime
    registration_open: bool
    late_cancel_cutoff: datetime
    status: str
    cancel_reason: str | None
    instructor_notes: str | None = None
    availability: Availability

    @classmethod
    def of(cls, view: handlers.ClassView, *, staff: bool) -> ClassOut:
        s = view.session
        zone = ZoneInfo(view.studio.time_zone) if view.studio else None
        local = s.starts_at.astimezone(zone) if zone else None
        return cls(
            id=s.id, version=s.version, name=s.name, class_type_id=s.class_type_id,
            studio=StudioRef(id=s.studio_id, name=view.studio and view.studio.name,
                             time_zone=view.studio and view.studio.time_zone),
            instructor=InstructorRef(id=s.instructor_id, name=view.instructor and view.instructor.name),
            room=s.room, starts_at=s.starts_at, ends_at=s.ends_at,
            local_date=local.date().isoformat() if local else None,
            local_start_time=local.strftime("%H:%M") if local else None,
            registration_opens_at=s.registration_opens_at, registration_closes_at=s.registration_closes_at,
            registration_open=s.registration_open(handlers._now()), late_cancel_cutoff=s.late_cancel_cutoff,
            status=s.status, cancel_reason=s.cancel_reason,
            instructor_notes=s.instructor_notes if staff else None,
            availability=Availability(capacity=s.capacity, booked=s.booked, spots_left=s.spots_left,
                                      is_full=s.spots_left == 0, waitlisted=s.waitlisted),
        )


class ClassPage(BaseModel):
    items: list[ClassOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


@router.post("/classes", status_code=201, response_model=ClassOut, operation_id="scheduleClass",
             summary="Schedule a class", tags=["classes"], responses=error_responses(401, 403, 422))
async def schedule_class(body: ClassIn, principal: CurrentPrincipal, uow: UoW, config: Settings) -> ClassOut:
    view = await handlers.schedule_class(uow, principal=principal,
                                         default_late_cancel_hours=config.default_late_cancel_hours,
                                         **body.model_dump(exclude_none=True))
    return ClassOut.of(view, staff=True)


@router.get("/classes", response_model=ClassPage, operation_id="browseClasses",
            summary="Browse and search the timetable", tags=["classes"], responses=error_responses(401, 403, 422))
async def browse_classes(
    principal: CurrentPrincipal,
    uow: UoW,
    config: Settings,
    from_: Annotated[datetime | None,
                     Query(alias="from", description="Classes starting at or after; default now.")] = None,
    to: Annotated[datetime | None, Query(description="Classes starting before; default a week after `from`.")] = None,
    studio_id: UUID | None = None,
    instructor_id: UUID | None = None,
    class_type_id: UUID | None = None,
    time_of_day: Annotated[TimeOfDay | None, Query(description="In the studio's local time.")] = None,
    local_time_from: Annotated[time | None, Query(description="Local start time at or after, HH:MM.")] = None,
    local_time_to: Annotated[time | None, Query(description="Local start time before, HH:MM.")] = None,
    available_only: bool = False,
    include_cancelled: Annotated[bool, Query(description="Staff only.")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ClassPage:
    views = await handlers.browse_classes(
        uow, principal=principal, max_days=config.max_browse_days, starts_from=from_, starts_before=to,
        studio_id=studio_id, instructor_id=instructor_id, class_type_id=class_type_id, time_of_day=time_of_day,
        local_time_from=local_time_from, local_time_to=local_time_to, available_only=available_only,
        include_cancelled=include_cancelled, limit=limit, after=decode_cursor(cursor) if cursor else None)
    items = [ClassOut.of(v, staff=principal.is_staff) for v in views]
    return ClassPage(items=items, next_cursor=encode_cursor(views[-1].session.starts_at, views[-1].session.id)
                     if len(views) == limit else None)


@router.get("/classes/{class_id}", response_model=ClassOut, operation_id="getClass", summary="Get a class",
            tags=["classes"], responses=error_responses(401, 403, 404, 422))
async def get_class(class_id: UUID, principal: CurrentPrincipal, uow: UoW) -> ClassOut:
    return ClassOut.of(await handlers.get_class(uow, principal=principal, class_id=class_id),
                       staff=principal.is_staff)


@router.patch("/classes/{class_id}", response_model=ClassOut, operation_id="updateClass",
              summary="Change a class", tags=["classes"], responses=error_responses(401, 403, 404, 409, 422))
async def update_class(class_id: UUID, body: ClassChanges, principal: CurrentPrincipal, uow: UoW) -> ClassOut:
    changes = body.model_dump(exclude_unset=True)
    expected = changes.pop("expected_version", None)
    if any(v is None for k, v in changes.items() if k not in ("room", "instructor_notes", "registration_opens_at")):
        raise Invalid("Only room, instructor_notes and registration_opens_at can be cleared.", code="cannot-clear")
    view = await handlers.update_class(uow, principal=principal, class_id=class_id, expected_version=expected,
                                       **changes)
    return ClassOut.of(view, staff=True)


@router.post("/classes/{class_id}/cancel", response_model=ClassOut, operation_id="cancelClass",
             summary="Cancel a class", tags=["classes"], responses=error_responses(401, 403, 404, 409, 422))
async def cancel_class(class_id: UUID, body: CancelIn, principal: CurrentPrincipal, uow: UoW) -> ClassOut:
    view = await handlers.cancel_class(uow, principal=principal, class_id=class_id, reason=body.reason)
    return ClassOut.of(view, staff=True)
