"""What a studio sells: class packs and membership plans.

Money is integer minor units plus an ISO 4217 currency code, never a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal
from uuid import UUID, uuid4

from studio_platform.errors import Invalid

ProductKind = Literal["class_pack", "membership"]
ValidityFrom = Literal["purchase", "first_use"]

MAX_DAYS = 3660
MAX_PACK_CREDITS = 1000
MAX_WEEKLY_CREDITS = 100
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if self.amount_minor < 0:
            raise Invalid("A price cannot be negative.", code="bad-price")
        if not _CURRENCY.match(self.currency):
            raise Invalid("Currency must be an ISO 4217 code such as GBP.", code="bad-currency")


@dataclass(frozen=True)
class Product:
    """A class pack (`credits` good for `validity_days`) or a membership plan (`duration_days` of weekly credits)."""

    id: UUID
    organization_id: UUID
    name: str
    kind: ProductKind
    price: Money
    active: bool = True
    # Class packs.
    credits: int | None = None
    validity_days: int | None = None
    validity_from: ValidityFrom | None = None
    # Membership plans; `credits_per_week` None means unlimited classes.
    duration_days: int | None = None
    credits_per_week: int | None = None
    weekly_rollover: bool = False
    features: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not name:
            raise Invalid("A product needs a name.", code="name-required")
        object.__setattr__(self, "name", name)
        if self.kind == "class_pack":
            self._check_pack()
        elif self.kind == "membership":
            self._check_membership()
        else:
            raise Invalid("A product is a class_pack or a membership.", code="bad-kind")

    def _check_pack(self) -> None:
        if self.credits is None or not 1 <= self.credits <= MAX_PACK_CREDITS:
            raise Invalid(f"A class pack holds 1 to {MAX_PACK_CREDITS} credits.", code="bad-credits")
        if self.validity_days is None or not 1 <= self.validity_days <= MAX_DAYS:
            raise Invalid("A class pack is valid for 1 day to 10 years.", code="bad-validity")
        if self.validity_from not in ("purchase", "first_use"):
            raise Invalid("validity_from is purchase or first_use.", code="bad-validity-from")
        if self.duration_days is not None or self.credits_per_week is not None or self.weekly_rollover:
            raise Invalid("Durations and weekly credits belong to memberships.", code="not-a-membership")

    def _check_membership(self) -> None:
        if self.duration_days is None or not 1 <= self.duration_days <= MAX_DAYS:
            raise Invalid("A membership lasts 1 day to 10 years.", code="bad-duration")
        if self.credits_per_week is not None and not 1 <= self.credits_per_week <= MAX_WEEKLY_CREDITS:
            raise Invalid(f"A membership gives 1 to {MAX_WEEKLY_CREDITS} credits a week, or is unlimited.",
                          code="bad-credits")
        if self.credits is not None or self.validity_days is not None or self.validity_from is not None:
            raise Invalid("Credits and validity belong to class packs.", code="not-a-class-pack")

    @property
    def unlimited(self) -> bool:
        return self.kind == "membership" and self.credits_per_week is None

    @classmethod
    def create(cls, *, organization_id: UUID, **fields: object) -> Product:
        return cls(id=uuid4(), organization_id=organization_id, **fields)  # type: ignore[arg-type]

    def changed(self, **changes: object) -> Product:
        """Only the name, price and whether it is on sale change: terms already sold stay as sold."""
        unknown = set(changes) - {"name", "price", "active"}
        if unknown:
            raise Invalid(f"These cannot change once a product exists: {', '.join(sorted(unknown))}.",
                          code="immutable-terms")
        return replace(self, **changes)  # type: ignore[arg-type]
