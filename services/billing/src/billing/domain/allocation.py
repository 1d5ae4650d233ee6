"""Which of a client's lots pays for a booking, or why none can.

A lot can pay for a class when it is valid at the CLASS's start (valid_from <=
start < expires_at; an unused first-use pack counts when first using it now
would still cover the class) and has a credit left, or is unlimited. Among
those, in order:

1. an unlimited membership lot (it costs the client nothing countable);
2. the one that expires first (so fewer credits go to waste);
3. the oldest.

When none can pay, the refusal says why. "expired" when the client holds
credits that won't be valid at the class time (already expired, or expiring
before it) and nothing they hold still covers the class; otherwise
"no-credits": they used what covers it (a membership's week included, even if
that week's allowance is not out yet), or never had any. Booking keeps a
"no-credits" client on the waitlist and drops an "expired" one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID


@dataclass(frozen=True)
class LotOption:
    """A lot of the client's, with what the choice needs to know of its package."""

    lot_id: UUID
    package_id: UUID
    package_name: str
    valid_from: datetime
    expires_at: datetime | None
    unlimited: bool
    available: int
    expired: int
    created_at: datetime
    package_starts_at: datetime
    package_expires_at: datetime | None
    # Days an unused first-use pack stays good once used; None for everything else.
    first_use_days: int | None = None

    def expiry_if_used(self, now: datetime) -> datetime:
        if self.expires_at is not None:
            return self.expires_at
        assert self.first_use_days is not None, "only unused first-use packs have no expiry"
        return now + timedelta(days=self.first_use_days)

    def covers(self, at: datetime, now: datetime) -> bool:
        return self.valid_from <= at < self.expiry_if_used(now)

    def package_covers(self, at: datetime, now: datetime) -> bool:
        return self.package_starts_at <= at < (self.package_expires_at or self.expiry_if_used(now))

    def lapses_before(self, at: datetime) -> bool:
        """It has (or had) credits that expire at or before `at`."""
        return (self.available > 0 or self.expired > 0) and self.expires_at is not None and self.expires_at <= at


@dataclass(frozen=True)
class Refusal:
    reason: Literal["no-credits", "expired"]
    detail: str


def choose_lot(options: Iterable[LotOption], *, class_starts_at: datetime, now: datetime) -> LotOption | Refusal:
    options = list(options)
    payers = [o for o in options if (o.unlimited or o.available > 0) and o.covers(class_starts_at, now)]
    if payers:
        return min(payers, key=lambda o: (not o.unlimited, o.expiry_if_used(now), o.valid_from, o.created_at,
                                          str(o.lot_id)))
    covered = any(o.package_covers(class_starts_at, now) for o in options)
    if not covered and any(o.lapses_before(class_starts_at) for o in options):
        return Refusal("expired", "Your credits expire before this class; a new package lets you book it.")
    return Refusal("no-credits", "You have no credits left for this class.")
