"""Billing's periodic work, run on each BillingTick: expire credits and packages, grant weekly allowances.

A repeating JetStream schedule fires the tick (every minute by default) and
every tick carries the same event id, so it skips the inbox: each step is
idempotent instead. A step handles one bounded batch per tick (the consumer
commits once, after the handler); a backlog drains over the next ticks. The
sweeps cover every organization, and each row keeps to its own.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

from billing.domain.credits import Move
from billing.handlers.grants import grant
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts.base import EventMeta
from studio_contracts.billing import BillingTick, CreditsExpired

BATCH = 500


async def run_tick(tick: BillingTick, meta: EventMeta | None, uow: BillingUnitOfWork, *, allowance_lead: timedelta,
                   now: datetime | None = None, batch: int = BATCH) -> None:
    now = now or datetime.now(UTC)
    await expire_credits(uow, now, batch=batch)
    await uow.packages.expire_ended(now, limit=batch)
    await grant_allowances(uow, now, lead=allowance_lead, batch=batch)


async def expire_credits(uow: BillingUnitOfWork, now: datetime, *, batch: int) -> None:
    """Credits still available in lots past their expiry become expired, one CreditsExpired per package."""
    lost: Counter[tuple[UUID, UUID, UUID]] = Counter()
    for lot in await uow.ledger.expiring(now, limit=batch):
        # The lot is locked: nothing can change `available` between the read and this move.
        await uow.ledger.move(lot.organization_id, lot.id, Move.EXPIRE, lot.counters.available, reason="expired")
        lost[(lot.organization_id, lot.client_id, lot.package_id)] += lot.counters.available
    for (org, client_id, package_id), credits in lost.items():
        uow.publish(CreditsExpired(organization_id=org, client_id=client_id, package_id=package_id, credits=credits),
                    subject=str(package_id))


async def grant_allowances(uow: BillingUnitOfWork, now: datetime, *, lead: timedelta, batch: int) -> None:
    """Grant each membership's weeks that start within `lead` (the lots' unique week makes a repeat harmless)."""
    for package in await uow.packages.allowances_due(now + lead, limit=batch):
        moved_on, weeks = package.allowances_due(now, lead)
        for week in weeks:
            await grant(uow, moved_on, week, actor_id=None)
        await uow.packages.move_allowance_on(moved_on)
