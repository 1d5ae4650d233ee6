"""Selling a client a class pack or a membership (staff, offline for now), and listing what they hold."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from billing.domain.packages import ClientPackage
from billing.handlers.access import require_client_or_manager, require_manager
from billing.handlers.grants import grant
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts.billing import PackageIssued
from studio_platform.auth import Principal
from studio_platform.errors import NotFound


async def issue_package(uow: BillingUnitOfWork, *, principal: Principal, client_id: UUID, product_id: UUID,
                        starts_at: datetime | None = None, note: str | None = None,
                        now: datetime | None = None) -> ClientPackage:
    """Issue the product to the client and grant its first lot: the pack's credits or the membership's week."""
    org = require_manager(principal)
    async with uow:
        product = await uow.products.get(org, product_id)
        if product is None:
            raise NotFound("No such product.", code="product-not-found")
        package, first = ClientPackage.issue(product, client_id=client_id, starts_at=starts_at,
                                             now=now or datetime.now(UTC), note=note, issued_by=principal.user_id)
        await uow.packages.add(package)
        uow.publish(PackageIssued(organization_id=org, client_id=client_id, package_id=package.id,
                                  product_id=product.id, kind=package.kind, name=package.name,
                                  starts_at=package.starts_at, expires_at=package.expires_at),
                    subject=str(package.id))
        await grant(uow, package, first, actor_id=principal.user_id)
        await uow.commit()
    return package


async def list_packages(uow: BillingUnitOfWork, *, principal: Principal, client_id: UUID) -> list[ClientPackage]:
    org = require_client_or_manager(principal, client_id)
    async with uow:
        return await uow.packages.of_client(org, client_id)
