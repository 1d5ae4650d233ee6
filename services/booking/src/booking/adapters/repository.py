"""Reading and writing booking's rows; every query is scoped by organization.

Seats change only through conditional updates on the class's row, so however
many requests race, a class never holds more bookings than seats.

The statements of a booking's way through (its request and saga) run on asyncpg itself (`Prepared`, see
studio_platform.db); rows are read by name, `row["name"]`, whichever way they came.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from booking.adapters.tables import booking_policies, bookings, class_copies, members, suspensions, waitlist_entries
from booking.domain.bookings import ACTIVE, Booking
from booking.domain.classes import BookableClass, Seats, seats_left
from booking.domain.policy import BookingPolicy
from booking.domain.waitlist import WaitlistEntry
from studio_platform.db import Prepared, Row, match, matching, xact_lock

_CLASS_FIELDS = [f.name for f in fields(BookableClass)]
_BOOKING_FIELDS = [f.name for f in fields(Booking) if f.name != "events"]
_ENTRY_FIELDS = [f.name for f in fields(WaitlistEntry)]
_POLICY_FIELDS = [f.name for f in fields(BookingPolicy)]


def _class(row: Row) -> BookableClass:
    return BookableClass(**{k: row[k] for k in _CLASS_FIELDS})


def _seats(row: Row) -> Seats:
    return Seats(capacity=row["capacity"], held=row["held"], confirmed=row["confirmed"],
                 waitlisted=row["waitlisted"], version=row["seats_version"])


def _confirmed(*, besides_saved: bool = False) -> sa.Label[int]:
    """How many of the class's held seats are confirmed, beside every read of its seats (its row counts seats
    held, not which are confirmed). `besides_saved`: not counting the booking the statement saves, as the
    statement's own update is not what its count sees."""
    where = [bookings.c.organization_id == class_copies.c.organization_id, bookings.c.class_id == class_copies.c.id,
             bookings.c.status == "confirmed"]
    if besides_saved:
        where.append(bookings.c.id != sa.bindparam("w_id", type_=bookings.c.id.type))
    return sa.select(sa.func.count()).select_from(bookings).where(*where).scalar_subquery().label("confirmed")


_CLASS = sa.select(class_copies, _confirmed()).where(matching(class_copies, "organization_id", "id"))
_CLASS_LOCKED = _CLASS.with_for_update(of=class_copies)


@functools.cache
def _seat_change(count: str, guarded: bool, *, besides_saved: bool = False) -> sa.Update:
    """Add `:d_<count>` to the class's `count` (held or waitlisted); `guarded`: only while a seat is free."""
    c = class_copies.c
    stmt = sa.update(class_copies).where(matching(class_copies, "organization_id", "id", prefix="c_"))
    if guarded:
        stmt = stmt.where(c.status == "scheduled", c.held < c.capacity)
    return stmt.values({count: c[count] + sa.bindparam(f"d_{count}"), "seats_version": c.seats_version + 1}
                       ).returning(class_copies, _confirmed(besides_saved=besides_saved))


@dataclass(frozen=True)
class FirstLook:
    """Seats as the look found them (the seat's own statement decides), without which are confirmed: counting
    them costs a read of the class's bookings that a refusal does not need."""

    cls: BookableClass
    held: int
    waitlisted: int
    seats_version: int
    policy: BookingPolicy  # the studio's, or the default
    booked: Booking | None  # the client's active booking of this class, if any
    earlier: Booking | None  # the client's booking made with the same Idempotency-Key, if any (of any class)
    suspended_until: datetime | None  # when the client's suspension ends, if they are suspended

    @property
    def seats_left(self) -> int:
        return seats_left(self.cls.capacity, self.held)


def _clients(alias: str, *where: Callable[[sa.Alias], sa.ColumnElement[bool]]) -> sa.Lateral:
    """The client's one booking (of the class's organization) that matches `where`, beside the class's row."""
    mine = bookings.alias(alias)
    return (sa.select(mine).where(mine.c.organization_id == class_copies.c.organization_id,
                                  mine.c.client_id == sa.bindparam("client_id", type_=mine.c.client_id.type),
                                  *(w(mine) for w in where)).limit(1).lateral(alias))


# When the client's suspension ends, if they are suspended at `:now`.
_until = sa.select(suspensions.c.until).where(
    matching(suspensions, "organization_id", "client_id"),
    suspensions.c.until > sa.bindparam("now", type_=suspensions.c.until.type))
# The same, read once the client's lock (`:lock_key`, held until the transaction ends) is taken.
_LOCKED_UNTIL = (sa.select(_until.scalar_subquery())
                 .where(xact_lock(sa.bindparam("lock_key", type_=sa.Text)).is_not(None)).scalar_subquery())
_MINE = _clients("mine", lambda b: b.c.class_id == class_copies.c.id, lambda b: b.c.status.in_(ACTIVE))
_EARLIER = _clients("earlier", lambda b: b.c.idempotency_key == sa.bindparam("key", type_=sa.Text))
_FIRST_LOOK = Prepared(
    sa.select(class_copies, booking_policies.c.studio_id.label("policy_studio_id"),
              *(booking_policies.c[k].label(f"policy_{k}") for k in _POLICY_FIELDS),
              *(_MINE.c[k].label(f"mine_{k}") for k in _BOOKING_FIELDS),
              *(_EARLIER.c[k].label(f"earlier_{k}") for k in _BOOKING_FIELDS),
              _LOCKED_UNTIL.label("suspended_until"))
    .select_from(class_copies
                 .outerjoin(booking_policies, sa.and_(
                     booking_policies.c.organization_id == class_copies.c.organization_id,
                     booking_policies.c.studio_id == class_copies.c.studio_id))
                 .outerjoin(_MINE, sa.true()).outerjoin(_EARLIER, sa.true()))
    .where(matching(class_copies, "organization_id", "id", prefix="c_")))


def _booking_in(row: Row, prefix: str) -> Booking | None:
    """The booking whose columns `row` carries under `prefix`, if any."""
    return None if row[f"{prefix}id"] is None else Booking(**{k: row[f"{prefix}{k}"] for k in _BOOKING_FIELDS})


class ClassRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def remember(self, bookable: BookableClass) -> None:
        """Keep the newest version whatever order events arrive in; the seat counts are booking's own."""
        values = asdict(bookable)
        stmt = insert(class_copies).values(**values)
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[class_copies.c.id],
            set_={**{k: stmt.excluded[k] for k in values if k != "id"}, "updated_at": sa.func.now()},
            where=class_copies.c.version < stmt.excluded.version,
        ))

    async def _row(self, organization_id: UUID, class_id: UUID, *, lock: bool = False) -> Row | None:
        return (await self._db.execute(_CLASS_LOCKED if lock else _CLASS,
                                       match(organization_id=organization_id, id=class_id))).mappings().first()

    async def get(self, organization_id: UUID, class_id: UUID, *, lock: bool = False) -> BookableClass | None:
        row = await self._row(organization_id, class_id, lock=lock)
        return None if row is None else _class(row)

    async def get_with_seats(self, organization_id: UUID, class_id: UUID) -> tuple[BookableClass, Seats] | None:
        row = await self._row(organization_id, class_id)
        return None if row is None else (_class(row), _seats(row))

    async def first_look(self, organization_id: UUID, class_id: UUID, client_id: UUID, default_policy: BookingPolicy,
                         idempotency_key: str | None, now: datetime) -> FirstLook | None:
        """What a booking attempt needs, in one statement: enough to refuse a full class, or to answer a retry
        with the booking it made; None when there is no such class.

        It also takes the client's lock until the transaction ends: one client's bookings (their overlap checks)
        are decided one at a time, without holding up anyone else. The statement's own reads may predate the
        lock; the checks that must not (the client's clash) come in a later statement."""
        row = await _FIRST_LOOK.first(self._db, {
            **match("c_", organization_id=organization_id, id=class_id), "client_id": client_id,
            "key": idempotency_key, **match(organization_id=organization_id, client_id=client_id), "now": now,
            "lock_key": f"{organization_id}:{client_id}"})
        if row is None:
            return None
        policy = (default_policy if row["policy_studio_id"] is None
                  else BookingPolicy(**{k: row[f"policy_{k}"] for k in _POLICY_FIELDS}))
        return FirstLook(_class(row), row["held"], row["waitlisted"], row["seats_version"],
                         policy, _booking_in(row, "mine_"), _booking_in(row, "earlier_"), row["suspended_until"])

    async def seats(self, organization_id: UUID, class_id: UUID) -> Seats | None:
        row = await self._row(organization_id, class_id)
        return None if row is None else _seats(row)

    async def count_waitlisted(self, organization_id: UUID, class_id: UUID, delta: int) -> Seats | None:
        row = (await self._db.execute(_seat_change("waitlisted", False), {
            **match("c_", organization_id=organization_id, id=class_id), "d_waitlisted": delta})).mappings().first()
        return None if row is None else _seats(row)


def _seat_params(booking: Booking, deltas: dict[str, int]) -> dict[str, Any]:
    return {**match("c_", organization_id=booking.organization_id, id=booking.class_id),
            **{f"d_{name}": delta for name, delta in deltas.items()}}


_b = bookings.c
_BOOKING_VALUES = {name: sa.bindparam(f"v_{name}", type_=_b[name].type) for name in _BOOKING_FIELDS}
_SAVE_BOOKING = sa.update(bookings).where(matching(bookings, "organization_id", "id")).values(
    {name: value for name, value in _BOOKING_VALUES.items() if name not in ("id", "organization_id")})


def _added_if(held: sa.CTE) -> sa.CTE:
    """The pending booking, written only if `held` took its seat: a full class costs one statement and writes
    nothing."""
    return sa.insert(bookings).from_select(list(_BOOKING_VALUES), sa.select(*_BOOKING_VALUES.values()).where(
        sa.exists(sa.select(held.c.id)))).cte("added")


_HELD = _seat_change("held", True).cte("held")
_ADD_HOLDING_SEAT = Prepared(sa.select(_HELD).add_cte(_added_if(_HELD)))


_SAVE_FREEING_SEAT = Prepared(_seat_change("held", False, besides_saved=True).add_cte(_SAVE_BOOKING.cte("saved")))
_SAVE = Prepared(_SAVE_BOOKING)

# Bookings' confirmations, done by the database on those still pending: one statement a booking, a whole
# batch of billing's answers sent at once, with no read under lock before it. (A booking answered twice in the
# batch is updated once.)
_CONFIRM_PENDING = Prepared(
    sa.update(bookings).where(matching(bookings, "organization_id", "id"), _b.status == "pending")
    .values(status="confirmed", package_id=sa.bindparam("n_package_id", type_=_b.package_id.type),
            confirmed_at=_BOOKING_VALUES["confirmed_at"])
    .returning(bookings))


_booking = sa.select(bookings).where(matching(bookings, "organization_id", "id"))
_BOOKING, _BOOKING_LOCKED = Prepared(_booking), Prepared(_booking.with_for_update())
_ACTIVE = Prepared(sa.select(bookings).where(matching(bookings, "organization_id", "class_id", "client_id"),
                                             _b.status.in_(ACTIVE)))
_OVERLAPPING = sa.and_(_b.class_starts_at < sa.bindparam("ends_at", type_=_b.class_starts_at.type),
                       _b.class_ends_at > sa.bindparam("starts_at", type_=_b.class_ends_at.type))
# The client's booking made with the same Idempotency-Key (of any status), else their active booking of the
# class, else one overlapping its time.
_SAME_KEY = _b.idempotency_key == sa.bindparam("v_idempotency_key", type_=sa.Text)
_CLASH = (sa.select(bookings).where(matching(bookings, "organization_id", "client_id"), sa.or_(
    _SAME_KEY, sa.and_(_b.status.in_(ACTIVE), sa.or_(_b.class_id == sa.bindparam("w_class_id"), _OVERLAPPING))))
    .order_by(sa.func.coalesce(_SAME_KEY, False).desc(), (_b.class_id == sa.bindparam("w_class_id")).desc())
    .limit(1).cte("clash"))
# A client's request, under their lock: their clash read in the same statement as the seat (after the lock,
# so it sees every booking of theirs), and the seat held and the booking written only if there is none.
# Always one row: the class's seats (when held) beside the clash (when any).
_HELD_UNLESS_CLASH = _seat_change("held", True).where(~sa.exists(sa.select(_CLASH.c.id))).cte("held")
_ADD_HOLDING_SEAT_UNLESS_CLASH = Prepared(
    sa.select(*_HELD_UNLESS_CLASH.c, *(_CLASH.c[k].label(f"clash_{k}") for k in _BOOKING_FIELDS))
    .select_from(sa.select(sa.literal(1).label("one")).subquery("one")
                 .outerjoin(_HELD_UNLESS_CLASH, sa.true()).outerjoin(_CLASH, sa.true()))
    .add_cte(_added_if(_HELD_UNLESS_CLASH)))
_OVERLAP = Prepared(sa.select(bookings).where(matching(bookings, "organization_id", "client_id"), _b.status.in_(ACTIVE),
                                              _OVERLAPPING).limit(1))
# The deadline sweep's, over every organization (its index holds only pending rows).
_OVERDUE = Prepared(sa.select(_b.organization_id, _b.id)
                    .where(_b.status == "pending", _b.deadline_at <= sa.bindparam("now", type_=_b.deadline_at.type))
                    .order_by(_b.deadline_at).limit(sa.bindparam("limit", type_=sa.Integer)))


class BookingRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    @staticmethod
    def _params(booking: Booking) -> dict[str, Any]:
        return {**match(organization_id=booking.organization_id, id=booking.id),
                **{f"v_{name}": getattr(booking, name) for name in _BOOKING_FIELDS}}

    async def add_holding_seat(self, booking: Booking) -> Seats | None:
        """Hold a seat of the booking's class and write the pending booking, in one statement; None, and
        nothing written, when the class is full (or not bookable)."""
        row = await _ADD_HOLDING_SEAT.first(self._db, {**self._params(booking),
                                                       **_seat_params(booking, {"held": 1})})
        return None if row is None else _seats(row)

    async def add_holding_seat_unless_clash(self, booking: Booking) -> tuple[Seats | None, Booking | None]:
        """For a client whose lock is held: their booking that clashes with this one (made with the same
        Idempotency-Key, or active and of the same class or overlapping it), else the seat held and the pending
        booking written, in one statement. (None, None): the class is full (or not bookable), and nothing was
        written."""
        row = await _ADD_HOLDING_SEAT_UNLESS_CLASH.first(self._db, {
            **self._params(booking), **_seat_params(booking, {"held": 1}),
            **match(client_id=booking.client_id, class_id=booking.class_id),
            "starts_at": booking.class_starts_at, "ends_at": booking.class_ends_at})
        assert row is not None
        return (None if row["id"] is None else _seats(row)), _booking_in(row, "clash_")

    async def save(self, booking: Booking) -> None:
        """Save a booking whose seat stays as it was (held or not): its class's row is left alone."""
        await _SAVE.execute(self._db, self._params(booking))

    async def confirm_pending(self, answers: list[tuple[UUID, UUID, UUID]], at: datetime) -> list[Booking]:
        """Confirm those of the bookings still pending, one statement each, sent together; `answers`:
        (organization, booking, package paying) each. The bookings confirmed, each with its change queued to
        publish; the others (not pending, or not there) are left as they were."""
        rows = await _CONFIRM_PENDING.many(self._db, [
            {**match(organization_id=org, id=booking), "n_package_id": package, "v_confirmed_at": at}
            for org, booking, package in answers])
        confirmed = [self._from(row) for row in rows]
        for booking in confirmed:
            booking.events.append("confirmed")
        return confirmed

    async def save_freeing_seat(self, booking: Booking) -> tuple[BookableClass, Seats] | None:
        """Save the booking, no longer holding its seat, and give the seat back, in one statement; the class then."""
        row = await _SAVE_FREEING_SEAT.first(self._db, {**self._params(booking), **_seat_params(booking, {"held": -1})})
        return None if row is None else (_class(row), _seats(row))

    def _from(self, row: Row) -> Booking:
        return Booking(**{k: row[k] for k in _BOOKING_FIELDS})

    async def _one(self, query: Prepared, **params: Any) -> Booking | None:
        row = await query.first(self._db, params)
        return None if row is None else self._from(row)

    async def get(self, organization_id: UUID, booking_id: UUID, *, lock: bool = False) -> Booking | None:
        return await self._one(_BOOKING_LOCKED if lock else _BOOKING,
                               **match(organization_id=organization_id, id=booking_id))

    async def overdue(self, now: datetime, *, limit: int) -> list[tuple[UUID, UUID]]:
        """(organization, booking) of pending bookings, in every organization, whose saga is past its deadline."""
        return [(r["organization_id"], r["id"]) for r in await _OVERDUE.all(self._db, {"now": now, "limit": limit})]

    async def active(self, organization_id: UUID, class_id: UUID, client_id: UUID) -> Booking | None:
        return await self._one(_ACTIVE, **match(organization_id=organization_id, class_id=class_id,
                                                client_id=client_id))

    async def overlapping(self, organization_id: UUID, client_id: UUID, starts_at: datetime,
                          ends_at: datetime) -> Booking | None:
        return await self._one(_OVERLAP, **match(organization_id=organization_id, client_id=client_id),
                               starts_at=starts_at, ends_at=ends_at)

    async def active_for_class(self, organization_id: UUID, class_id: UUID) -> list[Booking]:
        rows = await self._db.execute(sa.select(bookings).where(
            bookings.c.organization_id == organization_id, bookings.c.class_id == class_id,
            bookings.c.status.in_(ACTIVE)).order_by(bookings.c.requested_at).with_for_update())
        return [self._from(r) for r in rows.mappings()]

    async def move_class(self, organization_id: UUID, class_id: UUID, starts_at: datetime, ends_at: datetime) -> None:
        await self._db.execute(sa.update(bookings).where(
            bookings.c.organization_id == organization_id, bookings.c.class_id == class_id,
            bookings.c.status.in_(ACTIVE)).values(class_starts_at=starts_at, class_ends_at=ends_at))

    async def for_client(self, organization_id: UUID, client_id: UUID, *, upcoming: bool, now: datetime,
                         limit: int, before: tuple[datetime, UUID] | None = None) -> list[Booking]:
        c = bookings.c
        query = sa.select(bookings).where(c.organization_id == organization_id, c.client_id == client_id)
        if upcoming:
            query = query.where(c.class_starts_at >= now, c.status.in_(ACTIVE)).order_by(c.class_starts_at, c.id)
        else:
            query = query.where(sa.or_(c.class_starts_at < now, c.status.not_in(ACTIVE))).order_by(
                c.class_starts_at.desc(), c.id.desc())
        if before is not None:
            cursor = sa.tuple_(c.class_starts_at, c.id)
            bound = sa.tuple_(sa.literal(before[0]), sa.literal(before[1]))
            query = query.where(cursor > bound if upcoming else cursor < bound)
        return [self._from(r) for r in (await self._db.execute(query.limit(limit))).mappings()]

    async def roster(self, organization_id: UUID, class_id: UUID) -> list[Booking]:
        rows = await self._db.execute(sa.select(bookings).where(
            bookings.c.organization_id == organization_id, bookings.c.class_id == class_id,
            bookings.c.status.in_(ACTIVE)).order_by(bookings.c.requested_at))
        return [self._from(r) for r in rows.mappings()]


class WaitlistRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    def _from(self, row: Any) -> WaitlistEntry:
        return WaitlistEntry(**{k: getattr(row, k) for k in _ENTRY_FIELDS})

    async def add(self, entry: WaitlistEntry) -> WaitlistEntry:
        values = {k: getattr(entry, k) for k in _ENTRY_FIELDS if k != "seq"}
        seq = (await self._db.execute(
            sa.insert(waitlist_entries).values(**values).returning(waitlist_entries.c.seq))).scalar_one()
        entry.seq = seq
        return entry

    async def set_status(self, entry: WaitlistEntry, status: str, reason: str | None = None) -> None:
        entry.status, entry.reason = status, reason
        await self._db.execute(sa.update(waitlist_entries).where(
            waitlist_entries.c.organization_id == entry.organization_id, waitlist_entries.c.id == entry.id,
        ).values(status=status, reason=reason, updated_at=sa.func.now()))

    async def get(self, organization_id: UUID, entry_id: UUID, *, lock: bool = False) -> WaitlistEntry | None:
        query = sa.select(waitlist_entries).where(waitlist_entries.c.organization_id == organization_id,
                                                  waitlist_entries.c.id == entry_id)
        row = (await self._db.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else self._from(row)

    async def place(self, organization_id: UUID, class_id: UUID, client_id: UUID) -> WaitlistEntry | None:
        row = (await self._db.execute(sa.select(waitlist_entries).where(
            waitlist_entries.c.organization_id == organization_id, waitlist_entries.c.class_id == class_id,
            waitlist_entries.c.client_id == client_id, waitlist_entries.c.status.in_(("waiting", "promoting")),
        ).with_for_update())).first()
        return None if row is None else self._from(row)

    async def next_waiting(self, organization_id: UUID, class_id: UUID, after_seq: int | None) -> WaitlistEntry | None:
        """The first in line (after `after_seq`), skipping any a concurrent promotion holds."""
        c = waitlist_entries.c
        query = sa.select(waitlist_entries).where(c.organization_id == organization_id, c.class_id == class_id,
                                                  c.status == "waiting")
        if after_seq is not None:
            query = query.where(c.seq > after_seq)
        row = (await self._db.execute(query.order_by(c.seq).limit(1).with_for_update(skip_locked=True))).first()
        return None if row is None else self._from(row)

    async def open_for_class(self, organization_id: UUID, class_id: UUID) -> list[WaitlistEntry]:
        c = waitlist_entries.c
        rows = await self._db.execute(sa.select(waitlist_entries).where(
            c.organization_id == organization_id, c.class_id == class_id, c.status.in_(("waiting", "promoting")),
        ).order_by(c.seq))
        return [self._from(r) for r in rows]

    async def positions_for_client(self, organization_id: UUID, client_id: UUID) -> list[tuple[WaitlistEntry, int]]:
        """The client's open places, each with its position in its class's line (1 = next)."""
        mine = waitlist_entries.alias("mine")
        ahead = waitlist_entries.alias("ahead")
        position = (sa.select(sa.func.count()).where(
            ahead.c.organization_id == mine.c.organization_id, ahead.c.class_id == mine.c.class_id,
            ahead.c.status.in_(("waiting", "promoting")), ahead.c.seq <= mine.c.seq).scalar_subquery())
        rows = await self._db.execute(sa.select(mine, position.label("position")).where(
            mine.c.organization_id == organization_id, mine.c.client_id == client_id,
            mine.c.status.in_(("waiting", "promoting"))).order_by(mine.c.joined_at))
        return [(self._from(r), r.position) for r in rows]


_SUSPENDED_UNTIL = Prepared(_until)


class SuspensionRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def until(self, organization_id: UUID, client_id: UUID, now: datetime) -> datetime | None:
        """When the client's suspension ends, if they are suspended at `now`."""
        return await _SUSPENDED_UNTIL.scalar(self._db, {**match(organization_id=organization_id, client_id=client_id),
                                                        "now": now})

    async def suspend(self, organization_id: UUID, client_id: UUID, *, until: datetime, reason: str,
                      by: UUID) -> None:
        stmt = insert(suspensions).values(organization_id=organization_id, client_id=client_id, until=until,
                                          reason=reason, suspended_by=by)
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[suspensions.c.organization_id, suspensions.c.client_id],
            set_={"until": until, "reason": reason, "suspended_by": by}))

    async def lift(self, organization_id: UUID, client_id: UUID) -> bool:
        result = await self._db.execute(sa.delete(suspensions).where(
            suspensions.c.organization_id == organization_id, suspensions.c.client_id == client_id))
        return result.rowcount > 0


class MemberRepository:
    """Names of the organization's people, as identity last told us (for rosters)."""

    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def remember(self, organization_id: UUID, user_id: UUID, *, name: str, email: str, role: str) -> None:
        stmt = insert(members).values(organization_id=organization_id, user_id=user_id, name=name, email=email,
                                      role=role)
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[members.c.organization_id, members.c.user_id],
            set_={"name": name, "email": email, "role": role}))

    async def names(self, organization_id: UUID, user_ids: set[UUID]) -> dict[UUID, str]:
        if not user_ids:
            return {}
        rows = await self._db.execute(sa.select(members.c.user_id, members.c.name).where(
            members.c.organization_id == organization_id, members.c.user_id.in_(user_ids)))
        return {r.user_id: r.name for r in rows}


_POLICY = sa.select(booking_policies).where(matching(booking_policies, "organization_id", "studio_id"))


class PolicyRepository:
    def __init__(self, db: AsyncConnection, default: BookingPolicy) -> None:
        self._db = db
        self._default = default

    async def for_studio(self, organization_id: UUID, studio_id: UUID) -> BookingPolicy:
        row = (await self._db.execute(_POLICY, match(organization_id=organization_id, studio_id=studio_id))).first()
        if row is None:
            return self._default
        return BookingPolicy(**{k: getattr(row, k) for k in _POLICY_FIELDS})

    async def save(self, organization_id: UUID, studio_id: UUID, policy: BookingPolicy) -> None:
        values = asdict(policy)
        stmt = insert(booking_policies).values(organization_id=organization_id, studio_id=studio_id, **values)
        await self._db.execute(stmt.on_conflict_do_update(
            index_elements=[booking_policies.c.organization_id, booking_policies.c.studio_id],
            set_={**values, "updated_at": sa.func.now()}))
