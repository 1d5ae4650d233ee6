"""Scheduling's use cases. Each runs in one unit of work and authorizes its caller explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from scheduling.domain.browse import BrowseQuery
from scheduling.domain.directory import Member, Studio
from scheduling.domain.model import ClassSession, ClassType, SeatCount
from scheduling.unit_of_work import SchedulingUnitOfWork
from studio_contracts import booking, identity
from studio_contracts import scheduling as events
from studio_contracts.base import EventMeta
from studio_platform.auth import Principal
from studio_platform.errors import Conflict, Forbidden, Invalid, NotFound


def _now() -> datetime:
    return datetime.now(UTC)


def _require_class_planner(principal: Principal) -> None:
    if not principal.has_role("owner", "manager"):
        raise Forbidden("Only owners and managers plan classes.", code="not-staff")


# --- class types -------------------------------------------------------------------------------

def _class_type_event(cls: type[events.ClassTypeSnapshot], ct: ClassType) -> events.ClassTypeSnapshot:
    return cls(organization_id=ct.organization_id, class_type_id=ct.id, name=ct.name, colour=ct.colour,
               description=ct.description, default_capacity=ct.default_capacity,
               default_duration_minutes=ct.default_duration_minutes, archived=ct.archived)


async def create_class_type(uow: SchedulingUnitOfWork, *, principal: Principal, **fields: Any) -> ClassType:
    _require_class_planner(principal)
    async with uow:
        class_type = ClassType.create(organization_id=principal.org, **fields)
        await uow.class_types.add(class_type)
        uow.publish(_class_type_event(events.ClassTypeCreated, class_type), subject=str(class_type.id))
        await uow.commit()
    return class_type


async def list_class_types(uow: SchedulingUnitOfWork, *, principal: Principal,
                           include_archived: bool = False) -> list[ClassType]:
    async with uow:
        return await uow.class_types.list(principal.org, include_archived=include_archived and principal.is_staff)


async def get_class_type(uow: SchedulingUnitOfWork, *, principal: Principal, class_type_id: UUID) -> ClassType:
    async with uow:
        class_type = await uow.class_types.get(principal.org, class_type_id)
    if class_type is None:
        raise NotFound("No such class type.", code="class-type-not-found")
    return class_type


async def update_class_type(uow: SchedulingUnitOfWork, *, principal: Principal, class_type_id: UUID,
                            **changes: Any) -> ClassType:
    _require_class_planner(principal)
    async with uow:
        current = await uow.class_types.get(principal.org, class_type_id)
        if current is None:
            raise NotFound("No such class type.", code="class-type-not-found")
        class_type = current.changed(**changes)
        await uow.class_types.save(class_type)
        uow.publish(_class_type_event(events.ClassTypeUpdated, class_type), subject=str(class_type.id))
        await uow.commit()
    return class_type


# --- class sessions ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassView:
    """A class with what a reader needs next to it: its studio and instructor."""

    session: ClassSession
    studio: Studio | None
    instructor: Member | None


_EVENT_FOR = {"scheduled": events.ClassScheduled, "updated": events.ClassUpdated, "cancelled": events.ClassCancelled}


def _publish_changes(uow: SchedulingUnitOfWork, session: ClassSession) -> None:
    for change in session.events:
        cls = _EVENT_FOR[change]
        extra = {"reason": session.cancel_reason} if change == "cancelled" else {}
        uow.publish(cls(organization_id=session.organization_id, class_id=session.id, version=session.version,
                        class_type_id=session.class_type_id, name=session.name, studio_id=session.studio_id,
                        instructor_id=session.instructor_id, room=session.room, starts_at=session.starts_at,
                        ends_at=session.ends_at, capacity=session.capacity,
                        registration_opens_at=session.registration_opens_at,
                        registration_closes_at=session.registration_closes_at,
                        late_cancel_cutoff=session.late_cancel_cutoff, status=session.status, **extra),
                    subject=str(session.id))
    session.events.clear()


async def _studio_and_instructor(uow: SchedulingUnitOfWork, org: UUID, studio_id: UUID,
                                 instructor_id: UUID) -> tuple[Studio, Member]:
    studio = (await uow.directory.studios(org, {studio_id})).get(studio_id)
    if studio is None:
        raise Invalid("No such studio in your organization (a new studio takes a moment to appear here).",
                      code="unknown-studio")
    instructor = (await uow.directory.members(org, {instructor_id})).get(instructor_id)
    if instructor is None:
        raise Invalid("No such instructor in your organization.", code="unknown-instructor")
    instructor.ensure_can_teach_at(studio_id)
    return studio, instructor


async def schedule_class(uow: SchedulingUnitOfWork, *, principal: Principal, class_type_id: UUID, studio_id: UUID,
                         instructor_id: UUID, starts_at: datetime, default_late_cancel_hours: int,
                         **details: Any) -> ClassView:
    principal.require_manager_of(studio_id)
    async with uow:
        class_type = await uow.class_types.get(principal.org, class_type_id)
        if class_type is None:
            raise Invalid("No such class type.", code="unknown-class-type")
        studio, instructor = await _studio_and_instructor(uow, principal.org, studio_id, instructor_id)
        session = ClassSession.schedule(
            organization_id=principal.org, class_type=class_type, studio_id=studio_id, instructor_id=instructor_id,
            starts_at=starts_at, now=_now(), default_late_cancel=timedelta(hours=default_late_cancel_hours),
            **details)
        await uow.classes.add(session)
        _publish_changes(uow, session)
        await uow.commit()
    return ClassView(session, studio, instructor)


async def _locked_class(uow: SchedulingUnitOfWork, principal: Principal, class_id: UUID) -> ClassSession:
    session = await uow.classes.get(principal.org, class_id, for_update=True)
    if session is None:
        raise NotFound("No such class.", code="class-not-found")
    return session


async def update_class(uow: SchedulingUnitOfWork, *, principal: Principal, class_id: UUID,
                       expected_version: int | None = None, **changes: Any) -> ClassView:
    async with uow:
        session = await _locked_class(uow, principal, class_id)
        # Instructors keep their own notes on their classes; everything else is the studio's call.
        notes_only = set(changes) <= {"instructor_notes"}
        if not (principal.manages_studio(session.studio_id)
                or (notes_only and principal.user_id == session.instructor_id)):
            raise Forbidden("Only the studio's owner or manager may change this class.", code="not-studio-manager")
        if expected_version is not None and expected_version != session.version:
            raise Conflict("The class was changed by someone else; reload it and try again.",
                           code="stale-version", current_version=session.version)
        if "studio_id" in changes or "instructor_id" in changes:
            principal.require_manager_of(changes.get("studio_id", session.studio_id))
            await _studio_and_instructor(uow, principal.org, changes.get("studio_id", session.studio_id),
                                         changes.get("instructor_id", session.instructor_id))
        session.update(_now(), **changes)
        await uow.classes.save(session)
        _publish_changes(uow, session)
        await uow.commit()
        return await _view(uow, session)


async def cancel_class(uow: SchedulingUnitOfWork, *, principal: Principal, class_id: UUID,
                       reason: str | None) -> ClassView:
    async with uow:
        session = await _locked_class(uow, principal, class_id)
        principal.require_manager_of(session.studio_id)
        session.cancel(_now(), reason)
        await uow.classes.save(session)
        _publish_changes(uow, session)
        await uow.commit()
        return await _view(uow, session)


async def _view(uow: SchedulingUnitOfWork, session: ClassSession) -> ClassView:
    return (await _views(uow, [session]))[0]


async def _views(uow: SchedulingUnitOfWork, sessions: list[ClassSession]) -> list[ClassView]:
    if not sessions:
        return []
    org = sessions[0].organization_id
    found_studios = await uow.directory.studios(org, {s.studio_id for s in sessions})
    found_members = await uow.directory.members(org, {s.instructor_id for s in sessions})
    return [ClassView(s, found_studios.get(s.studio_id), found_members.get(s.instructor_id)) for s in sessions]


async def get_class(uow: SchedulingUnitOfWork, *, principal: Principal, class_id: UUID) -> ClassView:
    async with uow:
        session = await uow.classes.get(principal.org, class_id)
        if session is None or (session.status == "cancelled" and not principal.is_staff):
            raise NotFound("No such class.", code="class-not-found")
        return await _view(uow, session)


async def browse_classes(uow: SchedulingUnitOfWork, *, principal: Principal, max_days: int,
                         **filters: Any) -> list[ClassView]:
    if filters.get("include_cancelled") and not principal.is_staff:
        filters["include_cancelled"] = False
    query = BrowseQuery.build(organization_id=principal.org, now=_now(), max_days=max_days, **filters)
    async with uow:
        return await _views(uow, await uow.classes.browse(query))


# --- what other services tell us ---------------------------------------------------------------

async def record_seats(changes: list[tuple[booking.ClassAvailabilityChanged, EventMeta]],
                       uow: SchedulingUnitOfWork) -> None:
    """Booking owns the seats; the timetable shows its count. A batch of changes is one statement, with only the
    newest of each class's (a busy class changes many times in one batch)."""
    newest: dict[tuple[UUID, UUID], booking.ClassAvailabilityChanged] = {}
    for event, _ in changes:
        seen = newest.get((event.organization_id, event.class_id))
        if seen is None or seen.seats_version < event.seats_version:
            newest[(event.organization_id, event.class_id)] = event
    await uow.classes.record_seats([SeatCount(organization_id=e.organization_id, class_id=e.class_id,
                                              booked=e.confirmed + e.pending, waitlisted=e.waitlisted,
                                              seats_version=e.seats_version) for e in newest.values()])


async def remember_studio(event: identity.StudioSnapshot, meta: EventMeta, uow: SchedulingUnitOfWork) -> None:
    await uow.directory.upsert_studio(Studio(id=event.studio_id, organization_id=event.organization_id,
                                             name=event.name, time_zone=event.time_zone))


async def remember_member(event: identity.MemberJoined, meta: EventMeta, uow: SchedulingUnitOfWork) -> None:
    await uow.directory.upsert_member(Member(user_id=event.user_id, organization_id=event.organization_id,
                                             name=event.name, role=event.role,
                                             studio_ids=frozenset(event.studio_ids)))
