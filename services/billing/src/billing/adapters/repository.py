"""Reading and writing products, packages and reservations; every query is scoped by organization."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.adapters.tables import packages, products, reservations
from billing.domain.packages import ClientPackage
from billing.domain.products import Money, Product
from billing.domain.reservations import Reservation
from studio_platform.db import (
    Prepared,
    Row,
    advisory_xact_lock,
    advisory_xact_locks,
    given_rows,
    looked_up,
    match,
    matching,
)
from studio_platform.errors import Conflict

_PACKAGE_COLUMNS = [f.name for f in fields(ClientPackage)]
_RESERVATION_COLUMNS = [f.name for f in fields(Reservation)]


def _product(row: Any) -> Product:
    return Product(id=row.id, organization_id=row.organization_id, name=row.name, kind=row.kind,
                   price=Money(row.price_minor, row.currency), active=row.active, credits=row.credits,
                   validity_days=row.validity_days, validity_from=row.validity_from, duration_days=row.duration_days,
                   credits_per_week=row.credits_per_week, weekly_rollover=row.weekly_rollover,
                   features=tuple(row.features))


def _product_values(product: Product) -> dict[str, Any]:
    values = asdict(product)
    price = values.pop("price")
    return {**values, "price_minor": price["amount_minor"], "currency": price["currency"],
            "features": list(product.features)}


def _name_taken(product: Product) -> Conflict:
    return Conflict(f"A product called {product.name!r} already exists.", code="product-exists")


class ProductRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def add(self, product: Product) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(sa.insert(products).values(**_product_values(product)))
        except IntegrityError as exc:
            raise _name_taken(product) from exc

    async def get(self, organization_id: UUID, product_id: UUID) -> Product | None:
        row = (await self._db.execute(sa.select(products).where(
            products.c.organization_id == organization_id, products.c.id == product_id))).first()
        return None if row is None else _product(row)

    async def list(self, organization_id: UUID, *, include_inactive: bool) -> list[Product]:
        query = sa.select(products).where(products.c.organization_id == organization_id)
        if not include_inactive:
            query = query.where(products.c.active)
        return [_product(r) for r in await self._db.execute(query.order_by(products.c.kind, products.c.name))]

    async def save(self, product: Product) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(
                    sa.update(products)
                    .where(products.c.organization_id == product.organization_id, products.c.id == product.id)
                    .values(name=product.name, price_minor=product.price.amount_minor,
                            currency=product.price.currency, active=product.active, updated_at=sa.func.now()))
        except IntegrityError as exc:
            raise _name_taken(product) from exc


def _package(row: Any) -> ClientPackage:
    return ClientPackage(**{name: getattr(row, name) for name in _PACKAGE_COLUMNS})


class PackageRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def add(self, package: ClientPackage) -> None:
        await self._db.execute(sa.insert(packages).values(**asdict(package)))

    async def get(self, organization_id: UUID, package_id: UUID) -> ClientPackage | None:
        row = (await self._db.execute(sa.select(packages).where(
            packages.c.organization_id == organization_id, packages.c.id == package_id))).first()
        return None if row is None else _package(row)

    async def of_client(self, organization_id: UUID, client_id: UUID) -> list[ClientPackage]:
        rows = await self._db.execute(
            sa.select(packages)
            .where(packages.c.organization_id == organization_id, packages.c.client_id == client_id)
            .order_by(packages.c.starts_at.desc(), packages.c.id))
        return [_package(r) for r in rows]

    async def start_first_use(self, organization_id: UUID, package_id: UUID, expires_at: datetime) -> None:
        await self._db.execute(_START_FIRST_USE, {**match(organization_id=organization_id, id=package_id),
                                                  "n_expires_at": expires_at})

    async def allowances_due(self, until: datetime, *, limit: int) -> list[ClientPackage]:
        """Active memberships (of every organization) with a week starting by `until` still to grant."""
        rows = await self._db.execute(
            sa.select(packages)
            .where(packages.c.status == "active", packages.c.next_allowance_at.is_not(None),
                   packages.c.next_allowance_at <= until)
            .order_by(packages.c.next_allowance_at)
            .limit(limit)
            .with_for_update(skip_locked=True))
        return [_package(r) for r in rows]

    async def move_allowance_on(self, package: ClientPackage) -> None:
        await self._db.execute(
            sa.update(packages)
            .where(packages.c.organization_id == package.organization_id, packages.c.id == package.id)
            .values(next_allowance_at=package.next_allowance_at))

    async def expire_ended(self, now: datetime, *, limit: int) -> None:
        """Mark active packages (of every organization) past their end as expired."""
        ended = (
            sa.select(packages.c.organization_id, packages.c.id)
            .where(packages.c.status == "active", packages.c.expires_at <= now)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("ended"))
        await self._db.execute(
            sa.update(packages)
            .where(packages.c.organization_id == ended.c.organization_id, packages.c.id == ended.c.id)
            .values(status="expired", next_allowance_at=None))


def _reservation(row: Row) -> Reservation:
    return Reservation(**{name: row[name] for name in _RESERVATION_COLUMNS})


_START_FIRST_USE = (sa.update(packages).where(matching(packages, "organization_id", "id"),
                                              packages.c.expires_at.is_(None))
                    .values(expires_at=sa.bindparam("n_expires_at")))
# A reservation's statements run on asyncpg itself (see studio_platform.db).
_RESERVATION = Prepared(sa.select(reservations).where(matching(reservations, "organization_id", "booking_id")))
_bookings = given_rows("wanted", organization_id=PG_UUID(as_uuid=True), booking_id=PG_UUID(as_uuid=True))
_found = looked_up(sa.select(reservations).where(reservations.c.organization_id == _bookings.c.organization_id,
                                                 reservations.c.booking_id == _bookings.c.booking_id), "found")
_RESERVATIONS = Prepared(sa.select(_found).select_from(_bookings.join(_found, sa.true())))
_new = given_rows("new", **{name: reservations.c[name].type for name in _RESERVATION_COLUMNS})
_ADD_RESERVATIONS = Prepared(sa.insert(reservations).from_select(_RESERVATION_COLUMNS, sa.select(_new)))


def _lock_key(organization_id: UUID, booking_id: UUID) -> str:
    return f"billing-reservation:{organization_id}:{booking_id}"

_SAVE_RESERVATION = Prepared(sa.update(reservations).where(matching(reservations, "organization_id", "booking_id"))
                             .values(status=sa.bindparam("n_status", type_=sa.Text), updated_at=sa.func.now()))


class ReservationRepository:
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def lock(self, organization_id: UUID, booking_id: UUID) -> None:
        """Take the booking's lock until the transaction ends: its commands are handled one at a time.

        A reserve racing a release (or a second copy of itself) waits here instead of both
        deciding from a view in which the other has not happened.
        """
        await advisory_xact_lock(self._db, _lock_key(organization_id, booking_id))

    async def lock_all(self, bookings: list[tuple[UUID, UUID]]) -> None:
        """`lock` each (organization, booking), in one statement."""
        await advisory_xact_locks(self._db, (_lock_key(org, booking) for org, booking in bookings))

    async def get(self, organization_id: UUID, booking_id: UUID) -> Reservation | None:
        row = await _RESERVATION.first(self._db, match(organization_id=organization_id, booking_id=booking_id))
        return None if row is None else _reservation(row)

    async def get_all(self, bookings: list[tuple[UUID, UUID]]) -> dict[tuple[UUID, UUID], Reservation]:
        """The reservations of those (organization, booking) that have one, by (organization, booking)."""
        rows = await _RESERVATIONS.all(self._db, {"organization_id": [org for org, _ in bookings],
                                                  "booking_id": [booking for _, booking in bookings]})
        return {(row["organization_id"], row["booking_id"]): _reservation(row) for row in rows}

    async def add(self, reservation: Reservation) -> None:
        await self.add_all([reservation])

    async def add_all(self, added: list[Reservation]) -> None:
        """Write new reservations, in one statement."""
        if added:
            await _ADD_RESERVATIONS.execute(self._db, {name: [getattr(r, name) for r in added]
                                                       for name in _RESERVATION_COLUMNS})

    async def save(self, reservation: Reservation) -> None:
        await _SAVE_RESERVATION.execute(self._db, {**match(organization_id=reservation.organization_id,
                                                           booking_id=reservation.booking_id),
                                                   "n_status": reservation.status})
