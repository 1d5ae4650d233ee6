"""Billing's HTTP API: parse, call a handler, shape the reply."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from billing.domain.credits import Counters, LedgerEntry
from billing.domain.packages import ClientPackage
from billing.domain.products import Product
from billing.handlers import catalogue, credits, packages
from billing.unit_of_work import BillingUnitOfWork
from studio_platform.auth import CurrentPrincipal
from studio_platform.errors import Invalid
from studio_platform.problems import error_responses
from studio_platform.schemas import StrictBody

router = APIRouter(prefix="/v1")


async def uow(request: Request) -> BillingUnitOfWork:
    return request.app.state.uow()


UoW = Annotated[BillingUnitOfWork, Depends(uow)]


# --- products ----------------------------------------------------------------------------------

Name = Annotated[str, Field(min_length=1, max_length=120)]


class Price(StrictBody):
    amount_minor: int = Field(ge=0, le=100_000_000, description="In the currency's minor unit: 29700 is £297.00.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["GBP"])


class ClassPackIn(StrictBody):
    kind: Literal["class_pack"]
    name: Name = Field(examples=["10-class pack"])
    price: Price
    credits: int = Field(ge=1, le=1000)
    validity_days: int = Field(ge=1, le=3660)
    validity_from: Literal["purchase", "first_use"] = Field(
        default="purchase", description="The validity runs from the purchase, or from the first booking.")


class MembershipIn(StrictBody):
    kind: Literal["membership"]
    name: Name = Field(examples=["Kickstarter"])
    price: Price
    duration_days: int = Field(ge=1, le=3660)
    credits_per_week: int | None = Field(ge=1, le=100, description="Null for unlimited classes.")
    weekly_rollover: bool = Field(default=False, description="Unused weekly credits carry over to the end.")
    features: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=20, examples=[["HR monitor included"]])


ProductIn = Annotated[ClassPackIn | MembershipIn, Field(discriminator="kind")]


class ProductChanges(StrictBody):
    name: Name | None = None
    price: Price | None = None
    active: bool | None = Field(default=None, description="False takes it off sale; packages sold stay as sold.")


class ProductOut(BaseModel):
    id: UUID
    kind: Literal["class_pack", "membership"]
    name: str
    price: Price
    active: bool
    credits: int | None
    validity_days: int | None
    validity_from: Literal["purchase", "first_use"] | None
    duration_days: int | None
    credits_per_week: int | None
    unlimited: bool
    weekly_rollover: bool
    features: list[str]

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(id=p.id, kind=p.kind, name=p.name,
                   price=Price(amount_minor=p.price.amount_minor, currency=p.price.currency), active=p.active,
                   credits=p.credits, validity_days=p.validity_days, validity_from=p.validity_from,
                   duration_days=p.duration_days, credits_per_week=p.credits_per_week, unlimited=p.unlimited,
                   weekly_rollover=p.weekly_rollover, features=list(p.features))


@router.post("/products", status_code=201, response_model=ProductOut, operation_id="createProduct",
             summary="Create a class pack or membership plan", tags=["products"],
             responses=error_responses(400, 401, 403, 409, 422))
async def create_product(body: ProductIn, principal: CurrentPrincipal, uow: UoW) -> ProductOut:
    return ProductOut.of(await catalogue.create_product(uow, principal=principal, **body.model_dump()))


@router.get("/products", response_model=list[ProductOut], operation_id="listProducts", summary="List products",
            tags=["products"], responses=error_responses(401, 403, 422))
async def list_products(principal: CurrentPrincipal, uow: UoW,
                        include_inactive: Annotated[bool, Query(description="Owners and managers only.")] = False,
                        ) -> list[ProductOut]:
    found = await catalogue.list_products(uow, principal=principal, include_inactive=include_inactive)
    return [ProductOut.of(p) for p in found]


@router.get("/products/{product_id}", response_model=ProductOut, operation_id="getProduct", summary="Get a product",
            tags=["products"], responses=error_responses(401, 403, 404, 422))
async def get_product(product_id: UUID, principal: CurrentPrincipal, uow: UoW) -> ProductOut:
    return ProductOut.of(await catalogue.get_product(uow, principal=principal, product_id=product_id))


@router.patch("/products/{product_id}", response_model=ProductOut, operation_id="updateProduct",
              summary="Rename, reprice, or take a product on or off sale", tags=["products"],
              responses=error_responses(400, 401, 403, 404, 409, 422))
async def update_product(product_id: UUID, body: ProductChanges, principal: CurrentPrincipal,
                         uow: UoW) -> ProductOut:
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise Invalid("name, price and active cannot be cleared.", code="cannot-clear")
    return ProductOut.of(await catalogue.update_product(uow, principal=principal, product_id=product_id, **changes))


# --- packages ----------------------------------------------------------------------------------

class PackageIn(StrictBody):
    product_id: UUID
    starts_at: datetime | None = Field(default=None, description="With a UTC offset; defaults to now.")
    note: str | None = Field(default=None, max_length=500, examples=["Paid cash at the desk"])


class PackageOut(BaseModel):
    id: UUID
    client_id: UUID
    product_id: UUID
    kind: Literal["class_pack", "membership"]
    name: str
    starts_at: datetime
    expires_at: datetime | None = Field(description="Null for a first-use pack not used yet.")
    status: Literal["active", "expired", "cancelled"]
    unlimited: bool
    credits: int | None = Field(description="A class pack's credits.")
    validity_days: int | None
    validity_from: Literal["purchase", "first_use"] | None
    credits_per_week: int | None
    weekly_rollover: bool
    note: str | None
    issued_by: UUID | None

    @classmethod
    def of(cls, p: ClientPackage) -> PackageOut:
        return cls(id=p.id, client_id=p.client_id, product_id=p.product_id, kind=p.kind, name=p.name,
                   starts_at=p.starts_at, expires_at=p.expires_at, status=p.status, unlimited=p.unlimited,
                   credits=p.pack_credits, validity_days=p.validity_days, validity_from=p.validity_from,
                   credits_per_week=p.credits_per_week, weekly_rollover=p.weekly_rollover, note=p.note,
                   issued_by=p.issued_by)


@router.post("/clients/{client_id}/packages", status_code=201, response_model=PackageOut,
             operation_id="issuePackage", summary="Sell a client a class pack or membership (paid offline)",
             tags=["packages"], responses=error_responses(400, 401, 403, 404, 422))
async def issue_package(client_id: UUID, body: PackageIn, principal: CurrentPrincipal, uow: UoW) -> PackageOut:
    return PackageOut.of(await packages.issue_package(uow, principal=principal, client_id=client_id,
                                                      **body.model_dump()))


@router.get("/clients/{client_id}/packages", response_model=list[PackageOut], operation_id="listClientPackages",
            summary="A client's packages and memberships", tags=["packages"],
            responses=error_responses(401, 403, 422))
async def list_packages(client_id: UUID, principal: CurrentPrincipal, uow: UoW) -> list[PackageOut]:
    return [PackageOut.of(p) for p in await packages.list_packages(uow, principal=principal, client_id=client_id)]


# --- credits -----------------------------------------------------------------------------------

class CountersOut(BaseModel):
    granted: int = Field(description="Granted plus staff adjustments: granted = available + held + spent + expired.")
    available: int = Field(description="Free to book with, including `upcoming`.")
    held: int = Field(description="Reserved for bookings not yet attended.")
    spent: int
    expired: int
    upcoming: int = Field(description="Available in membership weeks that have not started yet.")

    @classmethod
    def of(cls, c: Counters, upcoming: int) -> CountersOut:
        return cls(granted=c.granted + c.adjusted, available=c.available, held=c.held, spent=c.spent,
                   expired=c.expired, upcoming=upcoming)


class PackageCreditsOut(CountersOut):
    package_id: UUID
    name: str
    kind: Literal["class_pack", "membership"]
    starts_at: datetime
    expires_at: datetime | None
    status: Literal["active", "expired", "cancelled"]
    unlimited: bool

    @classmethod
    def of_package(cls, pc: credits.PackageCredits) -> PackageCreditsOut:
        p, balance = pc.package, pc.balance
        return cls(**CountersOut.of(balance.counters, balance.upcoming).model_dump(), package_id=p.id, name=p.name,
                   kind=p.kind, starts_at=p.starts_at, expires_at=p.expires_at, status=p.status,
                   unlimited=p.unlimited)


class CreditsOut(BaseModel):
    client_id: UUID
    unlimited: bool = Field(description="An unlimited membership is in force now.")
    totals: CountersOut
    packages: list[PackageCreditsOut] = Field(description="Active packages first, then the newest.")

    @classmethod
    def of(cls, cc: credits.ClientCredits) -> CreditsOut:
        return cls(client_id=cc.client_id, unlimited=cc.unlimited, totals=CountersOut.of(cc.totals, cc.upcoming),
                   packages=[PackageCreditsOut.of_package(p) for p in cc.packages])


@router.get("/clients/{client_id}/credits", response_model=CreditsOut, operation_id="getClientCredits",
            summary="A client's credit balance, per package", tags=["credits"],
            responses=error_responses(401, 403, 422))
async def client_credits(client_id: UUID, principal: CurrentPrincipal, uow: UoW) -> CreditsOut:
    return CreditsOut.of(await credits.client_credits(uow, principal=principal, client_id=client_id))


@router.get("/me/credits", response_model=CreditsOut, operation_id="getMyCredits",
            summary="My credit balance, per package", tags=["credits"], responses=error_responses(401, 403))
async def my_credits(principal: CurrentPrincipal, uow: UoW) -> CreditsOut:
    return CreditsOut.of(await credits.client_credits(uow, principal=principal, client_id=principal.user_id))


class EntryOut(BaseModel):
    id: int
    kind: Literal["grant", "reserve", "consume", "release", "refund", "expire", "adjust"]
    credits: int = Field(description="Credits moved; an adjustment's is negative when it removed some.")
    package_id: UUID
    lot_id: UUID
    booking_id: UUID | None
    actor_id: UUID | None = Field(description="Who made the change; null when billing did on its own or for booking.")
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, e: LedgerEntry) -> EntryOut:
        return cls(id=e.id, kind=e.kind.value, credits=e.credits, package_id=e.package_id, lot_id=e.lot_id,
                   booking_id=e.booking_id, actor_id=e.actor_id, reason=e.reason, created_at=e.created_at)


class LedgerPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def _encode_cursor(entry: LedgerEntry) -> str:
    return base64.urlsafe_b64encode(str(entry.id).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one we gave out.", code="bad-cursor") from exc


@router.get("/clients/{client_id}/ledger", response_model=LedgerPage, operation_id="listCreditLedger",
            summary="Every change to a client's credits, newest first", tags=["credits"],
            responses=error_responses(401, 403, 404, 422))
async def client_ledger(client_id: UUID, principal: CurrentPrincipal, uow: UoW, package_id: UUID | None = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None) -> LedgerPage:
    entries = await credits.ledger(uow, principal=principal, client_id=client_id, package_id=package_id,
                                   before=_decode_cursor(cursor) if cursor else None, limit=limit)
    return LedgerPage(items=[EntryOut.of(e) for e in entries],
                      next_cursor=_encode_cursor(entries[-1]) if len(entries) == limit else None)


class AdjustmentIn(StrictBody):
    package_id: UUID
    credits: int = Field(ge=-1000, le=1000, description="Credits to add (positive) or remove (negative); not 0.")
    reason: str = Field(min_length=1, max_length=500, examples=["Goodwill: class cancelled at short notice"])


@router.post("/clients/{client_id}/credit-adjustments", status_code=201, response_model=PackageCreditsOut,
             operation_id="adjustCredits", summary="Add or remove a client's credits by hand, with a reason",
             tags=["credits"], responses=error_responses(400, 401, 403, 404, 422))
async def adjust_credits(client_id: UUID, body: AdjustmentIn, principal: CurrentPrincipal,
                         uow: UoW) -> PackageCreditsOut:
    adjusted = await credits.adjust_credits(uow, principal=principal, client_id=client_id, **body.model_dump())
    return PackageCreditsOut.of_package(adjusted)
