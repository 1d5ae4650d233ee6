"""Credit lots and their ledger. Every counter change is a conditional update plus its entry, in one place.

The conditional update (`... WHERE held >= :n`) is what keeps counters right
under concurrency: of two transactions after the last credit, the second
updates no row and learns it lost. The transitions come from the domain's
`FLOWS` and `TOTALS`, so the SQL cannot drift from the rules.

The statements of a reservation (a booking's credit) run on asyncpg itself (`Prepared`, see
studio_platform.db); rows are read by name, `row["name"]`, whichever way they came.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.adapters.tables import credit_entries, credit_lots, packages
from billing.domain.allocation import LotOption
from billing.domain.credits import FLOWS, TOTALS, Counters, CreditLot, LedgerEntry, Move, PackageBalance
from studio_platform.db import Prepared, Row, given_rows, looked_up, match, matching

_lot_c, _package_c = credit_lots.c, packages.c
_UUID = PG_UUID(as_uuid=True)
_COUNTERS = ("granted", "adjusted", "available", "held", "spent", "expired")


def counters_of(row: Row) -> Counters:
    return Counters(**{name: row[name] for name in _COUNTERS})


def _lot(row: Row) -> CreditLot:
    return CreditLot(id=row["id"], organization_id=row["organization_id"], client_id=row["client_id"],
                     package_id=row["package_id"], valid_from=row["valid_from"], expires_at=row["expires_at"],
                     unlimited=row["unlimited"], counters=counters_of(row))


@functools.cache
def _move(move: Move) -> Prepared:
    """One statement for moves of one kind, each on its own lot: every lot's conditional update, and its entry
    written from the row the update returns. A lot that cannot afford its move is left as it was."""
    wanted = given_rows("wanted", organization_id=_UUID, id=_UUID, credits=sa.Integer, booking_id=_UUID)
    c, credits = credit_lots.c, wanted.c.credits
    if move in FLOWS:
        source, target = FLOWS[move]
        guard = c[source] >= credits
        changes = {source: c[source] - credits, target: c[target] + credits}
    else:
        guard = c.available + credits >= 0
        changes = {TOTALS[move]: c[TOTALS[move]] + credits, "available": c.available + credits}
    moved = (sa.update(credit_lots)
             .where(c.organization_id == wanted.c.organization_id, c.id == wanted.c.id, guard)
             .values(changes)
             .returning(credit_lots, credits.label("moved_credits"), wanted.c.booking_id.label("moved_for"))
             .cte("moved"))
    e = credit_entries.c
    entry = sa.insert(credit_entries).from_select(
        [e.organization_id, e.client_id, e.package_id, e.lot_id, e.kind, e.credits, e.booking_id, e.actor_id,
         e.reason],
        sa.select(moved.c.organization_id, moved.c.client_id, moved.c.package_id, moved.c.id,
                  sa.literal(move.value), moved.c.moved_credits, moved.c.moved_for,
                  sa.bindparam("actor_id", type_=e.actor_id.type), sa.bindparam("reason", type_=sa.Text)),
    ).cte("entry")
    # The package's credits left after the move (a reservation's answer says them): the statement reads its
    # other lots as they were before it, and this lot as the update left it.
    others = (sa.select(sa.func.coalesce(sa.func.sum(_lot_c.available), 0))
              .where(_lot_c.organization_id == moved.c.organization_id, _lot_c.package_id == moved.c.package_id,
                     _lot_c.id != moved.c.id).scalar_subquery())
    return Prepared(sa.select(moved, (moved.c.available + others).label("package_available")).add_cte(entry))


@dataclass(frozen=True)
class Take:
    """One lot's share of `LedgerRepository.move_many`: so many credits, for a booking or none."""

    organization_id: UUID
    lot_id: UUID
    credits: int
    booking_id: UUID | None = None


@dataclass(frozen=True)
class Moved:
    lot: CreditLot  # as the move left it
    package_available: int  # credits available in the lot's package after the move


# A client's lots that may pay for a class or explain a refusal (see `LedgerRepository.options`).
_OPTION_COLUMNS = (_lot_c.id, _lot_c.package_id, _package_c.name, _lot_c.valid_from, _lot_c.expires_at,
                   _lot_c.unlimited, _lot_c.available, _lot_c.expired, _lot_c.created_at, _package_c.starts_at,
                   _package_c.expires_at.label("package_expires_at"), _package_c.validity_days)
_OF_PACKAGE = sa.and_(_package_c.organization_id == _lot_c.organization_id, _package_c.id == _lot_c.package_id)
_USABLE = sa.or_(_package_c.status == "active",
                 sa.and_(_package_c.status == "expired", sa.or_(_lot_c.available > 0, _lot_c.expired > 0)))
_OPTIONS = Prepared(sa.select(*_OPTION_COLUMNS).join(packages, _OF_PACKAGE)
                    .where(matching(credit_lots, "organization_id", "client_id"), _USABLE))
_clients = given_rows("wanted", organization_id=_UUID, client_id=_UUID)
_options_of_client = looked_up(
    sa.select(*_OPTION_COLUMNS, _lot_c.organization_id, _lot_c.client_id).join(packages, _OF_PACKAGE)
    .where(_lot_c.organization_id == _clients.c.organization_id, _lot_c.client_id == _clients.c.client_id, _USABLE),
    "options")
_OPTIONS_OF_CLIENTS = Prepared(sa.select(_options_of_client).select_from(_clients.join(_options_of_client, sa.true())))


def _option(r: Row) -> LotOption:
    return LotOption(lot_id=r["id"], package_id=r["package_id"], package_name=r["name"], valid_from=r["valid_from"],
                     expires_at=r["expires_at"], unlimited=r["unlimited"], available=r["available"],
                     expired=r["expired"], created_at=r["created_at"], package_starts_at=r["starts_at"],
                     package_expires_at=r["package_expires_at"],
                     first_use_days=r["validity_days"] if r["expires_at"] is None else None)


_START_FIRST_USE = (sa.update(credit_lots).where(matching(credit_lots, "organization_id", "id"),
                                                 _lot_c.expires_at.is_(None))
                    .values(expires_at=sa.bindparam("n_expires_at")))


class LedgerRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def open_lot(self, lot: CreditLot) -> bool:
        """Insert an empty lot; False when the package already has one from that moment (a week granted before)."""
        row = (await self._db.execute(
            insert(credit_lots)
            .values(organization_id=lot.organization_id, id=lot.id, client_id=lot.client_id,
                    package_id=lot.package_id, valid_from=lot.valid_from, expires_at=lot.expires_at,
                    unlimited=lot.unlimited)
            .on_conflict_do_nothing(index_elements=["package_id", "valid_from"])
            .returning(credit_lots.c.id))).first()
        return row is not None

    async def move(self, organization_id: UUID, lot_id: UUID, move: Move, credits: int, *, reason: str,
                   booking_id: UUID | None = None, actor_id: UUID | None = None) -> Moved | None:
        """Apply one move to a lot and record it; None (and nothing recorded) when the lot can't afford it."""
        return (await self.move_many(move, [Take(organization_id, lot_id, credits, booking_id)], reason=reason,
                                     actor_id=actor_id)).get(lot_id)

    async def move_many(self, move: Move, takes: list[Take], *, reason: str,
                        actor_id: UUID | None = None) -> dict[UUID, Moved]:
        """Apply moves of one kind, each to a different lot, and record them, in one statement; by lot, those
        done. A lot that can't afford its move is left out, with nothing recorded.

        The lots go in one order (by id), which is the order PostgreSQL's plan looks them up and locks them in
        (the list, then each lot by its key): two batches over the same lots lock them alike rather than each
        waiting for the other."""
        takes = sorted(takes, key=lambda t: (t.organization_id, t.lot_id))
        rows = await _move(move).all(self._db, {
            "organization_id": [t.organization_id for t in takes], "id": [t.lot_id for t in takes],
            "credits": [t.credits for t in takes], "booking_id": [t.booking_id for t in takes],
            "actor_id": actor_id, "reason": reason})
        return {row["id"]: Moved(_lot(row), row["package_available"]) for row in rows}

    async def options(self, organization_id: UUID, client_id: UUID) -> list[LotOption]:
        """The client's lots that may pay for a class or explain a refusal.

        Every lot of an active package, and lots of expired packages that had
        credits left at their end. Used-up history and cancelled packages stay out.
        """
        return [_option(r) for r in await _OPTIONS.all(self._db, match(organization_id=organization_id,
                                                                         client_id=client_id))]

    async def options_of_clients(self, clients: set[tuple[UUID, UUID]]) -> dict[tuple[UUID, UUID], list[LotOption]]:
        """`options` of many (organization, client) at once, by (organization, client); none for one without."""
        wanted = list(clients)
        found: dict[tuple[UUID, UUID], list[LotOption]] = {}
        for r in await _OPTIONS_OF_CLIENTS.all(self._db, {"organization_id": [org for org, _ in wanted],
                                                          "client_id": [client for _, client in wanted]}):
            found.setdefault((r["organization_id"], r["client_id"]), []).append(_option(r))
        return found

    async def start_first_use(self, organization_id: UUID, lot_id: UUID, expires_at: datetime) -> None:
        await self._db.execute(_START_FIRST_USE, {**match(organization_id=organization_id, id=lot_id),
                                                  "n_expires_at": expires_at})

    async def unexpired_lots(self, organization_id: UUID, package_id: UUID, now: datetime) -> list[CreditLot]:
        """The package's lots not expired by `now` (an unused first-use pack's included), locked for a change."""
        c = credit_lots.c
        rows = await self._db.execute(
            sa.select(credit_lots)
            .where(c.organization_id == organization_id, c.package_id == package_id,
                   sa.or_(c.expires_at.is_(None), c.expires_at > now))
            .order_by(c.valid_from, c.id)
            .with_for_update())
        return [_lot(r) for r in rows.mappings()]

    async def expiring(self, now: datetime, *, limit: int) -> list[CreditLot]:
        """Lots (of every organization) past their expiry with credits still available, locked."""
        rows = await self._db.execute(
            sa.select(credit_lots)
            .where(credit_lots.c.expires_at <= now, credit_lots.c.available > 0)
            .order_by(credit_lots.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True))
        return [_lot(r) for r in rows.mappings()]

    async def balances(self, organization_id: UUID, client_id: UUID, now: datetime) -> dict[UUID, PackageBalance]:
        c = credit_lots.c
        sums = [sa.func.coalesce(sa.func.sum(c[name]), 0).label(name) for name in _COUNTERS]
        upcoming = sa.func.coalesce(sa.func.sum(c.available).filter(c.valid_from > now), 0).label("upcoming")
        rows = await self._db.execute(
            sa.select(c.package_id, *sums, upcoming)
            .where(c.organization_id == organization_id, c.client_id == client_id)
            .group_by(c.package_id))
        return {r["package_id"]: PackageBalance(r["package_id"], counters_of(r), r["upcoming"])
                for r in rows.mappings()}

    async def entries(self, organization_id: UUID, client_id: UUID, *, package_id: UUID | None,
                      before: int | None, limit: int) -> list[LedgerEntry]:
        """Newest first; `before` is the id of the last entry of the previous page."""
        e = credit_entries.c
        query = sa.select(credit_entries).where(e.organization_id == organization_id, e.client_id == client_id)
        if package_id is not None:
            query = query.where(e.package_id == package_id)
        if before is not None:
            query = query.where(e.id < before)
        rows = await self._db.execute(query.order_by(e.id.desc()).limit(limit))
        return [LedgerEntry(id=r.id, lot_id=r.lot_id, package_id=r.package_id, client_id=r.client_id,
                            kind=Move(r.kind), credits=r.credits, booking_id=r.booking_id, actor_id=r.actor_id,
                            reason=r.reason, created_at=r.created_at) for r in rows]
