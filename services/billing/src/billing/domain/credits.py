"""Credits live in lots; every change to a lot's counters is one append-only ledger entry.

How each entry moves a lot's counters:

    grant    + available (and + granted)
    adjust   ± available (and ± adjusted); available never goes below 0
    reserve  available -> held
    release  held -> available   (the booking never went through)
    refund   held -> available   (a confirmed booking was cancelled within policy)
    consume  held -> spent       (attended, late-cancelled or no-show)
    expire   available -> expired

So per lot, and summed per package and per client:

    granted + adjusted == available + held + spent + expired

and the lot's ledger entries add up to its counters (`Counters.from_ledger`).
The database keeps the first with CHECK constraints and conditional updates;
the invariant check compares the second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from billing.domain.packages import ClientPackage, LotGrant
from studio_platform.errors import Invalid


class Move(StrEnum):
    GRANT = "grant"
    RESERVE = "reserve"
    CONSUME = "consume"
    RELEASE = "release"
    REFUND = "refund"
    EXPIRE = "expire"
    ADJUST = "adjust"


# Moves that shift credits from one counter to another.
FLOWS: dict[Move, tuple[str, str]] = {
    Move.RESERVE: ("available", "held"),
    Move.RELEASE: ("held", "available"),
    Move.REFUND: ("held", "available"),
    Move.CONSUME: ("held", "spent"),
    Move.EXPIRE: ("available", "expired"),
}
# Moves that change how many credits the lot ever had: they land in (or leave) `available`.
TOTALS: dict[Move, str] = {Move.GRANT: "granted", Move.ADJUST: "adjusted"}


class NotEnoughCredits(Invalid):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="not-enough-credits")


@dataclass(frozen=True)
class Counters:
    granted: int = 0
    adjusted: int = 0
    available: int = 0
    held: int = 0
    spent: int = 0
    expired: int = 0

    def apply(self, move: Move, credits: int) -> Counters:
        if move is Move.ADJUST:
            if credits == 0:
                raise Invalid("An adjustment changes at least one credit.", code="zero-adjustment")
        elif credits < 0:
            raise ValueError(f"{move} moves a non-negative number of credits")
        if move in FLOWS:
            source, target = FLOWS[move]
            if getattr(self, source) < credits:
                raise NotEnoughCredits(f"Only {getattr(self, source)} credits are {source}.")
            return replace(self, **{source: getattr(self, source) - credits, target: getattr(self, target) + credits})
        if self.available + credits < 0:
            raise NotEnoughCredits(f"Only {self.available} credits are available.")
        total = TOTALS[move]
        return replace(self, **{total: getattr(self, total) + credits, "available": self.available + credits})

    @property
    def balanced(self) -> bool:
        counted = (self.granted, self.available, self.held, self.spent, self.expired)
        return min(counted) >= 0 and self.granted + self.adjusted == sum(counted[1:])

    def __add__(self, other: Counters) -> Counters:
        return Counters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @classmethod
    def from_ledger(cls, totals: Mapping[Move, int]) -> Counters:
        """The counters a lot's entries add up to, given the credits its entries moved per kind."""
        counts = dict.fromkeys((f.name for f in fields(cls)), 0)
        for move, credits in totals.items():
            if move in FLOWS:
                source, target = FLOWS[move]
                counts[source] -= credits
                counts[target] += credits
            else:
                counts[TOTALS[move]] += credits
                counts["available"] += credits
        return cls(**counts)




@dataclass(frozen=True)
class CreditLot:
    id: UUID
    organization_id: UUID
    client_id: UUID
    package_id: UUID
    valid_from: datetime
    expires_at: datetime | None
    unlimited: bool
    counters: Counters

    @classmethod
    def open(cls, package: ClientPackage, grant: LotGrant) -> CreditLot:
        """A new lot, before its grant entry: every credit it will hold arrives through the ledger."""
        return cls(id=uuid4(), organization_id=package.organization_id, client_id=package.client_id,
                   package_id=package.id, valid_from=grant.valid_from, expires_at=grant.expires_at,
                   unlimited=grant.unlimited, counters=Counters())


@dataclass(frozen=True)
class PackageBalance:
    """A package's lots summed up."""

    package_id: UUID
    counters: Counters
    # Available credits in membership weeks that have not started yet (part of `counters.available`).
    upcoming: int


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    lot_id: UUID
    package_id: UUID
    client_id: UUID
    kind: Move
    credits: int
    booking_id: UUID | None
    actor_id: UUID | None
    reason: str
    created_at: datetime


def adjustment_plan(lots: list[CreditLot], credits: int, *, now: datetime) -> list[tuple[CreditLot, int]]:
    """Where a staff adjustment of a package lands, among its lots not yet expired.

    Added credits go into the lot in force now that started last (for a
    membership without roll-over, this week's), or the first to start if none
    is in force yet. Removed credits come out of the lots that expire first,
    never taking a lot below zero.
    """
    if credits == 0:
        raise Invalid("An adjustment changes at least one credit.", code="zero-adjustment")
    counted = [lot for lot in lots if not lot.unlimited]
    if not counted:
        raise Invalid("This package has no credits to adjust (it is over, or unlimited).", code="nothing-to-adjust")
    if credits > 0:
        in_force = [lot for lot in counted if lot.valid_from <= now]
        target = max(in_force, key=lambda lot: lot.valid_from) if in_force else min(counted, key=_starts)
        return [(target, credits)]
    plan, owed = [], -credits
    for lot in sorted(counted, key=lambda lot: (lot.expires_at is None, lot.expires_at or lot.valid_from,
                                                lot.valid_from)):
        take = min(owed, lot.counters.available)
        if take:
            plan.append((lot, -take))
            owed -= take
        if not owed:
            return plan
    raise NotEnoughCredits(f"Only {-credits - owed} credits of this package are available to remove.")


def _starts(lot: CreditLot) -> datetime:
    return lot.valid_from
