"""Reading and writing scheduling's rows; every query is scoped by organization."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scheduling.adapters.tables import class_sessions, class_types, members, studios
from scheduling.domain.browse import BrowseQuery
from scheduling.domain.directory import Member, Studio
from scheduling.domain.model import ClassSession, ClassType, SeatCount
from studio_platform.db import Prepared
from studio_platform.errors import Conflict

_SESSION_COLUMNS = [c.name for c in class_sessions.c if c.name not in ("created_at", "updated_at", "seats_version")]


def _session_from_row(row: Any) -> ClassSession:
    return ClassSession(**{name: getattr(row, name) for name in _SESSION_COLUMNS})


def _session_values(session: ClassSession) -> dict[str, Any]:
    values = asdict(session)
    values.pop("events")
    return values


class ClassTypeRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def add(self, class_type: ClassType) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(sa.insert(class_types).values(**asdict(class_type)))
        except IntegrityError as exc:
            raise _name_taken(class_type) from exc

    async def get(self, organization_id: UUID, class_type_id: UUID) -> ClassType | None:
        row = (await self._db.execute(
            sa.select(class_types).where(class_types.c.organization_id == organization_id,
                                         class_types.c.id == class_type_id)
        )).first()
        return None if row is None else _class_type(row)

    async def list(self, organization_id: UUID, *, include_archived: bool) -> list[ClassType]:
        query = sa.select(class_types).where(class_types.c.organization_id == organization_id)
        if not include_archived:
            query = query.where(class_types.c.archived.is_(False))
        return [_class_type(r) for r in await self._db.execute(query.order_by(class_types.c.name))]

    async def save(self, class_type: ClassType) -> None:
        values = asdict(class_type)
        try:
            async with self._db.begin_nested():
                await self._db.execute(
                    sa.update(class_types)
                    .where(class_types.c.organization_id == class_type.organization_id,
                           class_types.c.id == class_type.id)
                    .values(**values)
                )
        except IntegrityError as exc:
            raise _name_taken(class_type) from exc


def _name_taken(class_type: ClassType) -> Conflict:
    return Conflict(f"A class type called {class_type.name!r} already exists.", code="class-type-exists")


def _class_type(row: Any) -> ClassType:
    return ClassType(id=row.id, organization_id=row.organization_id, name=row.name, colour=row.colour,
                     description=row.description, default_capacity=row.default_capacity,
                     default_duration_minutes=row.default_duration_minutes, archived=row.archived)


class ClassSessionRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def add(self, session: ClassSession) -> None:
        await self._db.execute(sa.insert(class_sessions).values(**_session_values(session)))

    async def get(self, organization_id: UUID, class_id: UUID, *, for_update: bool = False) -> ClassSession | None:
        query = sa.select(class_sessions).where(class_sessions.c.organization_id == organization_id,
                                                class_sessions.c.id == class_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._db.execute(query)).first()
        return None if row is None else _session_from_row(row)

    async def save(self, session: ClassSession) -> None:
        await self._db.execute(
            sa.update(class_sessions)
            .where(class_sessions.c.organization_id == session.organization_id, class_sessions.c.id == session.id)
            .values(**_session_values(session), updated_at=sa.func.now())
        )

    async def browse(self, query: BrowseQuery) -> list[ClassSession]:
        c = class_sessions.c
        stmt = (
            sa.select(class_sessions)
            .join(studios, sa.and_(studios.c.id == c.studio_id, studios.c.organization_id == c.organization_id),
                  isouter=True)
            .where(c.organization_id == query.organization_id, c.starts_at >= query.starts_from,
                   c.starts_at < query.starts_before)
        )
        if not query.include_cancelled:
            stmt = stmt.where(c.status == "scheduled")
        for column, value in ((c.studio_id, query.studio_id), (c.instructor_id, query.instructor_id),
                              (c.class_type_id, query.class_type_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.available_only:
            stmt = stmt.where(c.booked < c.capacity)
        # Time of day is the studio's wall clock, so 06:30 means 06:30 there, summer or winter.
        local_time = sa.cast(sa.func.timezone(sa.func.coalesce(studios.c.time_zone, "UTC"), c.starts_at), sa.Time)
        if query.local_time_from is not None:
            stmt = stmt.where(local_time >= query.local_time_from)
        if query.local_time_to is not None:
            stmt = stmt.where(local_time < query.local_time_to)
        if query.after is not None:
            after_start, after_id = query.after
            stmt = stmt.where(sa.tuple_(c.starts_at, c.id) > sa.tuple_(sa.literal(after_start), sa.literal(after_id)))
        stmt = stmt.order_by(c.starts_at, c.id).limit(query.limit)
        return [_session_from_row(r) for r in await self._db.execute(stmt)]

    async def record_seats(self, counts: list[SeatCount]) -> None:
        """Booking's latest counts, sent together; a class that already has a newer one keeps it."""
        await _RECORD_SEATS.many(self._db, [{name: getattr(c, name) for name in _SEAT_COUNT} for c in counts])


# Every change of seats in booking comes here, a consumer's batch at a time: run on asyncpg itself (see
# studio_platform.db), one statement per class, found by key (D17).
_SEAT_COUNT = ("organization_id", "class_id", "booked", "waitlisted", "seats_version")
_RECORD_SEATS = Prepared(sa.update(class_sessions)
                         .where(class_sessions.c.organization_id == sa.bindparam("organization_id"),
                                class_sessions.c.id == sa.bindparam("class_id"),
                                class_sessions.c.seats_version < sa.bindparam("seats_version"))
                         .values(booked=sa.bindparam("booked"), waitlisted=sa.bindparam("waitlisted"),
                                 seats_version=sa.bindparam("seats_version")))


class DirectoryRepository:
    """Studios and members as identity last told us."""

    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def upsert_studio(self, studio: Studio) -> None:
        stmt = insert(studios).values(**asdict(studio))
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[studios.c.id], set_={"name": stmt.excluded.name, "time_zone": stmt.excluded.time_zone},
            where=studios.c.organization_id == stmt.excluded.organization_id))

    async def upsert_member(self, member: Member) -> None:
        values = asdict(member)
        values["studio_ids"] = sorted(member.studio_ids)
        stmt = insert(members).values(**values)
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[members.c.organization_id, members.c.user_id],
            set_={"name": stmt.excluded.name, "role": stmt.excluded.role, "studio_ids": stmt.excluded.studio_ids}))

    async def studios(self, organization_id: UUID, ids: set[UUID]) -> dict[UUID, Studio]:
        if not ids:
            return {}
        rows = await self._db.execute(
            sa.select(studios).where(studios.c.organization_id == organization_id, studios.c.id.in_(ids)))
        return {r.id: Studio(id=r.id, organization_id=r.organization_id, name=r.name, time_zone=r.time_zone)
                for r in rows}

    async def members(self, organization_id: UUID, ids: set[UUID]) -> dict[UUID, Member]:
        if not ids:
            return {}
        rows = await self._db.execute(
            sa.select(members).where(members.c.organization_id == organization_id, members.c.user_id.in_(ids)))
        return {r.user_id: Member(user_id=r.user_id, organization_id=r.organization_id, name=r.name, role=r.role,
                                  studio_ids=frozenset(r.studio_ids)) for r in rows}
