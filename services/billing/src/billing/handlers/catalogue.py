"""What the studio sells: owners and managers keep the products; every member may read them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from billing.domain.products import Money, Product
from billing.handlers.access import is_manager, require_manager
from billing.unit_of_work import BillingUnitOfWork
from studio_platform.auth import Principal
from studio_platform.errors import NotFound


def _not_found() -> NotFound:
    return NotFound("No such product.", code="product-not-found")


async def create_product(uow: BillingUnitOfWork, *, principal: Principal, price: dict[str, Any],
                         features: list[str] | None = None, **terms: Any) -> Product:
    org = require_manager(principal)
    product = Product.create(organization_id=org, price=Money(**price), features=tuple(features or ()), **terms)
    async with uow:
        await uow.products.add(product)
        await uow.commit()
    return product


async def list_products(uow: BillingUnitOfWork, *, principal: Principal, include_inactive: bool) -> list[Product]:
    async with uow:
        return await uow.products.list(principal.org, include_inactive=include_inactive and is_manager(principal))


async def get_product(uow: BillingUnitOfWork, *, principal: Principal, product_id: UUID) -> Product:
    async with uow:
        product = await uow.products.get(principal.org, product_id)
    if product is None:
        raise _not_found()
    return product


async def update_product(uow: BillingUnitOfWork, *, principal: Principal, product_id: UUID,
                         **changes: Any) -> Product:
    org = require_manager(principal)
    if "price" in changes:
        changes["price"] = Money(**changes["price"])
    async with uow:
        current = await uow.products.get(org, product_id)
        if current is None:
            raise _not_found()
        product = current.changed(**changes)
        await uow.products.save(product)
        await uow.commit()
    return product
