"""A client's credits: balances per package, the ledger behind them, and staff adjustments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import add
from uuid import UUID

from billing.domain.credits import Counters, LedgerEntry, Move, PackageBalance, adjustment_plan
from billing.domain.packages import ClientPackage
from billing.handlers.access import require_client_or_manager, require_manager
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts.billing import CreditsGranted
from studio_platform.auth import Principal
from studio_platform.errors import Invalid, NotFound


@dataclass(frozen=True)
class PackageCredits:
    package: ClientPackage
    balance: PackageBalance


@dataclass(frozen=True)
class ClientCredits:
    client_id: UUID
    packages: list[PackageCredits]
    # An active unlimited membership is in force now.
    unlimited: bool

    @property
    def totals(self) -> Counters:
        return reduce(add, (p.balance.counters for p in self.packages), Counters())

    @property
    def upcoming(self) -> int:
        return sum(p.balance.upcoming for p in self.packages)


def _credits(package: ClientPackage, balance: PackageBalance | None) -> PackageCredits:
    return PackageCredits(package, balance or PackageBalance(package.id, Counters(), upcoming=0))


async def client_credits(uow: BillingUnitOfWork, *, principal: Principal, client_id: UUID,
                         now: datetime | None = None) -> ClientCredits:
    org = require_client_or_manager(principal, client_id)
    now = now or datetime.now(UTC)
    async with uow:
        held = await uow.packages.of_client(org, client_id)
        balances = await uow.ledger.balances(org, client_id, now)
    # Active packages first; within each group, the newest first.
    packages = sorted((_credits(p, balances.get(p.id)) for p in held), key=lambda c: c.package.status != "active")
    unlimited = any(p.unlimited and p.status == "active" and p.expires_at is not None
                    and p.starts_at <= now < p.expires_at for p in held)
    return ClientCredits(client_id=client_id, packages=packages, unlimited=unlimited)


async def _clients_package(uow: BillingUnitOfWork, org: UUID, client_id: UUID, package_id: UUID) -> ClientPackage:
    package = await uow.packages.get(org, package_id)
    if package is None or package.client_id != client_id:
        raise NotFound("This client has no such package.", code="package-not-found")
    return package


async def ledger(uow: BillingUnitOfWork, *, principal: Principal, client_id: UUID, package_id: UUID | None,
                 before: int | None, limit: int) -> list[LedgerEntry]:
    org = require_client_or_manager(principal, client_id)
    async with uow:
        if package_id is not None:
            await _clients_package(uow, org, client_id, package_id)
        return await uow.ledger.entries(org, client_id, package_id=package_id, before=before, limit=limit)


async def adjust_credits(uow: BillingUnitOfWork, *, principal: Principal, client_id: UUID, package_id: UUID,
                         credits: int, reason: str, now: datetime | None = None) -> PackageCredits:
    """Staff add or remove credits by hand; the entries record who and why."""
    org = require_manager(principal)
    now = now or datetime.now(UTC)
    async with uow:
        package = await _clients_package(uow, org, client_id, package_id)
        if package.status != "active":
            raise Invalid(f"This package is {package.status}; only active packages can be adjusted.",
                          code="package-not-active")
        for lot, change in adjustment_plan(await uow.ledger.unexpired_lots(org, package_id, now), credits, now=now):
            # The lots are locked, so the plan's arithmetic still holds when each move lands.
            await uow.ledger.move(org, lot.id, Move.ADJUST, change, reason=reason, actor_id=principal.user_id)
            if change > 0:
                uow.publish(CreditsGranted(organization_id=org, client_id=client_id, package_id=package_id,
                                           credits=change, reason=reason, expires_at=lot.expires_at),
                            subject=str(package_id))
        balance = (await uow.ledger.balances(org, client_id, now)).get(package_id)
        await uow.commit()
    return _credits(package, balance)
