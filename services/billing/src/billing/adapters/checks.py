"""The credit invariant, checked from billing's database; the cross-service invariant tests call this.

For every lot of the organization:

- its counters balance: granted + adjusted = available + held + spent + expired, none negative;
- its ledger entries add up to its counters, and belong to its package and client;
- the credits it holds are those of the reservations still holding one on it.

The database already refuses unbalanced counters; these checks catch what a
constraint cannot see: a counter moved without its entry, or a reservation
lost or doubled.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.adapters.ledger import counters_of
from billing.adapters.tables import credit_entries, credit_lots, reservations
from billing.domain.credits import Counters, Move


async def credit_invariant_violations(db: AsyncConnection, organization_id: UUID) -> list[str]:
    """Every way the organization's credits disagree with themselves; an empty list when they are right."""
    lots = {r["id"]: r for r in (await db.execute(
        sa.select(credit_lots).where(credit_lots.c.organization_id == organization_id))).mappings()}
    e = credit_entries.c
    moved: dict[UUID, dict[Move, int]] = defaultdict(dict)
    for r in await db.execute(sa.select(e.lot_id, e.kind, sa.func.sum(e.credits).label("credits"))
                              .where(e.organization_id == organization_id).group_by(e.lot_id, e.kind)):
        moved[r.lot_id][Move(r.kind)] = r.credits
    res = reservations.c
    held_for = dict((await db.execute(
        sa.select(res.lot_id, sa.func.sum(res.credits))
        .where(res.organization_id == organization_id, res.status == "reserved").group_by(res.lot_id))).all())
    misfiled = (await db.execute(
        sa.select(e.id, e.lot_id)
        .join(credit_lots, sa.and_(credit_lots.c.organization_id == e.organization_id, credit_lots.c.id == e.lot_id))
        .where(e.organization_id == organization_id,
               sa.or_(e.package_id != credit_lots.c.package_id, e.client_id != credit_lots.c.client_id)))).all()

    violations = [f"ledger entry {entry_id} is filed under another package or client than its lot {lot_id}"
                  for entry_id, lot_id in misfiled]
    for lot_id, lot in lots.items():
        counters = counters_of(lot)
        where = f"lot {lot_id} (package {lot['package_id']}, client {lot['client_id']})"
        if not counters.balanced:
            violations.append(f"{where}: counters do not balance: {counters}")
        from_ledger = Counters.from_ledger(moved.get(lot_id, {}))
        if from_ledger != counters:
            violations.append(f"{where}: counters {counters} but its ledger entries add up to {from_ledger}")
        if held_for.get(lot_id, 0) != counters.held:
            violations.append(f"{where}: holds {counters.held} credits for {held_for.get(lot_id, 0)} reserved")
    return violations


async def reservation_states(db: AsyncConnection, organization_id: UUID) -> dict[UUID, str]:
    """Each booking billing has heard of, and where its credit stands (reserved, rejected, released, ...)."""
    rows = await db.execute(sa.select(reservations.c.booking_id, reservations.c.status)
                            .where(reservations.c.organization_id == organization_id))
    return dict(rows.all())
