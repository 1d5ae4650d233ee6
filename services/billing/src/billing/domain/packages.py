"""A client's package: a class pack or a membership issued to them, and when its credits are good.

Class packs are one lot of N credits, valid D days from the purchase
(`validity_from="purchase"`) or from the first use (`"first_use"`: no expiry
until the first reservation, then that moment + D days).

Memberships get one lot per week. Week k starts at starts_at + 7k days; the
last week is cut short by the membership's end and gets its share of the
weekly credits, rounded up. Roll-over is a plan setting, `weekly_rollover`:

- off (the default): a week's credits are good for that week only and expire
  at its end. "5 sessions a week" means five in each week, use them or lose
  them, which is what the studio's tiers promise;
- on: unused credits carry over and expire when the membership ends.

Either way a lot only pays for classes that start inside it (from its week's
start), so roll-over never lets a client spend next week's credits early.
Week 0 is granted when the membership is issued; later weeks are granted by
the periodic tick a lead time ahead of their start, so clients can book next
week's classes before it begins. A week that has already ended is never
granted (a backdated membership starts with the current week).

Unlimited plans (`credits_per_week` None) get a weekly lot too, flagged
unlimited: it pays for any number of bookings in its week and counts no credits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

from billing.domain.products import Product, ProductKind, ValidityFrom
from studio_platform.errors import Invalid

WEEK = timedelta(days=7)
PackageStatus = Literal["active", "expired", "cancelled"]


@dataclass(frozen=True)
class LotGrant:
    """Credits to put in a new lot: good from `valid_from` until `expires_at` (None: first-use pack, not used yet)."""

    valid_from: datetime
    expires_at: datetime | None
    credits: int
    unlimited: bool
    reason: str


def aware(name: str, value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise Invalid(f"{name} must include a time zone offset.", code="naive-datetime", field=name)
    return value


@dataclass(frozen=True)
class ClientPackage:
    """An issued product. Its terms are copied from the product at sale, so later product edits don't touch it."""

    id: UUID
    organization_id: UUID
    client_id: UUID
    product_id: UUID
    name: str
    kind: ProductKind
    starts_at: datetime
    expires_at: datetime | None
    status: PackageStatus = "active"
    pack_credits: int | None = None
    validity_days: int | None = None
    validity_from: ValidityFrom | None = None
    credits_per_week: int | None = None
    weekly_rollover: bool = False
    # The start of the next membership week whose lot is still to be granted; None when all are.
    next_allowance_at: datetime | None = None
    note: str | None = None
    issued_by: UUID | None = None

    @property
    def unlimited(self) -> bool:
        return self.kind == "membership" and self.credits_per_week is None

    @classmethod
    def issue(cls, product: Product, *, client_id: UUID, starts_at: datetime | None, now: datetime,
              note: str | None = None, issued_by: UUID | None = None) -> tuple[ClientPackage, LotGrant]:
        """The package and its first lot: the pack's credits, or the membership's current (or first) week."""
        if not product.active:
            raise Invalid("This product is no longer on sale.", code="product-inactive")
        starts_at = aware("starts_at", starts_at) if starts_at is not None else now
        common = dict(id=uuid4(), organization_id=product.organization_id, client_id=client_id,
                      product_id=product.id, name=product.name, kind=product.kind, starts_at=starts_at,
                      note=note, issued_by=issued_by)
        if product.kind == "class_pack":
            assert product.validity_days is not None
            expires_at = (starts_at + timedelta(days=product.validity_days)
                          if product.validity_from == "purchase" else None)
            package = cls(**common, expires_at=expires_at, pack_credits=product.credits,  # type: ignore[arg-type]
                          validity_days=product.validity_days, validity_from=product.validity_from)
            package._check_not_over(now)
            assert product.credits is not None
            return package, LotGrant(valid_from=starts_at, expires_at=expires_at, credits=product.credits,
                                     unlimited=False, reason="sale")
        assert product.duration_days is not None
        package = cls(**common, expires_at=starts_at + timedelta(days=product.duration_days),  # type: ignore[arg-type]
                      credits_per_week=product.credits_per_week, weekly_rollover=product.weekly_rollover)
        package._check_not_over(now)
        first = max(0, (now - starts_at) // WEEK)
        package = package._allowances_granted_through(first)
        return package, package.week(first)

    def _check_not_over(self, now: datetime) -> None:
        if self.expires_at is not None and self.expires_at <= now:
            raise Invalid("This package would already be over; pick a later start.", code="already-expired")

    def week(self, index: int) -> LotGrant:
        """Membership week `index` (from 0): its credits and how long they are good."""
        assert self.kind == "membership" and self.expires_at is not None
        valid_from = self.starts_at + index * WEEK
        ends = min(valid_from + WEEK, self.expires_at)
        credits = 0 if self.unlimited else -(-(self.credits_per_week * (ends - valid_from)) // WEEK)  # type: ignore[operator]
        return LotGrant(valid_from=valid_from, expires_at=self.expires_at if self.weekly_rollover else ends,
                        credits=credits, unlimited=self.unlimited, reason=f"week {index + 1} allowance")

    def _allowances_granted_through(self, index: int) -> ClientPackage:
        assert self.expires_at is not None
        following = self.starts_at + (index + 1) * WEEK
        return self._with(next_allowance_at=following if following < self.expires_at else None)

    def allowances_due(self, now: datetime, lead: timedelta) -> tuple[ClientPackage, list[LotGrant]]:
        """The weeks to grant now (those starting within `lead`), and the package with its next week moved on."""
        if self.status != "active" or self.next_allowance_at is None:
            return self, []
        package, due = self, []
        index = (self.next_allowance_at - self.starts_at) // WEEK
        while package.next_allowance_at is not None and package.next_allowance_at <= now + lead:
            week = self.week(index)
            assert week.expires_at is not None
            if week.expires_at > now:
                due.append(week)
            package = package._allowances_granted_through(index)
            index += 1
        return package, due

    def first_use_expiry(self, used_at: datetime) -> datetime:
        """When an unused first-use pack expires if it is first used at `used_at`."""
        assert self.validity_days is not None
        return used_at + timedelta(days=self.validity_days)

    def _with(self, **changes: object) -> ClientPackage:
        return replace(self, **changes)  # type: ignore[arg-type]
