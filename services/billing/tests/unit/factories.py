"""The studio's products as the tests sell them."""

import uuid
from datetime import UTC, datetime, timedelta

from billing.domain.allocation import LotOption
from billing.domain.products import Money, Product

NOW = datetime(2030, 3, 4, 9, tzinfo=UTC)  # a Monday
ORG = uuid.uuid4()
DAY = timedelta(days=1)


def ten_class_pack(**changes):
    values = dict(organization_id=ORG, name="10-class pack", kind="class_pack", price=Money(12000, "GBP"),
                  credits=10, validity_days=90, validity_from="purchase")
    return Product.create(**{**values, **changes})


def membership(name="Kickstarter", days=42, per_week=5, **changes):
    values = dict(organization_id=ORG, name=name, kind="membership", price=Money(29700, "GBP"),
                  duration_days=days, credits_per_week=per_week)
    return Product.create(**{**values, **changes})


def lot_option(*, available=1, valid_from=NOW - DAY, expires_at=NOW + 30 * DAY, unlimited=False, expired=0,
               created_at=NOW - DAY, package_starts_at=None, package_expires_at=None, first_use_days=None,
               name="Pack"):
    """A lot as the choice sees it; its package spans the lot unless told otherwise."""
    return LotOption(lot_id=uuid.uuid4(), package_id=uuid.uuid4(), package_name=name, valid_from=valid_from,
                     expires_at=expires_at, unlimited=unlimited, available=available, expired=expired,
                     created_at=created_at, package_starts_at=package_starts_at or valid_from,
                     package_expires_at=package_expires_at if package_expires_at is not None else expires_at,
                     first_use_days=first_use_days)
