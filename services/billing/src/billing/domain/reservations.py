"""A booking's claim on a credit, and what billing's answers to booking's commands do to it.

One reservation per booking (organization, booking id), with a status:

    reserved  a credit is held for the booking (an unlimited lot holds none)
    rejected  no lot could pay; the reason is kept, so a repeated command gets the same answer
    released  the booking never went through. Without a lot it is a tombstone: the release
              overtook the reserve, and the late reserve is refused as "cancelled"
    refunded  the confirmed booking was cancelled within policy; the credit went back
    consumed  the credit was spent

Every command is idempotent per booking: repeating one changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from billing.domain.allocation import LotOption, Refusal
from billing.domain.credits import Move
from studio_platform.errors import Conflict

ReservationStatus = Literal["reserved", "rejected", "released", "refunded", "consumed"]
Settlement = Literal["released", "refunded", "consumed"]

_MOVES: dict[Settlement, Move] = {"released": Move.RELEASE, "refunded": Move.REFUND, "consumed": Move.CONSUME}
# What a settlement finds already done, so it changes nothing: a repeat, or one that a
# release overtook (a credit released is back with the client, as a refund would have put it).
_ALREADY: dict[Settlement, frozenset[str]] = {
    "released": frozenset({"released", "refunded", "consumed", "rejected"}),
    "refunded": frozenset({"refunded", "released"}),
    "consumed": frozenset({"consumed"}),
}


@dataclass(frozen=True)
class Reservation:
    organization_id: UUID
    booking_id: UUID
    client_id: UUID
    status: ReservationStatus
    class_id: UUID | None = None
    studio_id: UUID | None = None
    class_starts_at: datetime | None = None
    lot_id: UUID | None = None
    package_id: UUID | None = None
    package_name: str | None = None
    credits: int = 0
    # In the package right after the reservation, as answered; None when unlimited.
    remaining: int | None = None
    reason: str | None = None
    detail: str | None = None

    @classmethod
    def taken(cls, *, organization_id: UUID, booking_id: UUID, client_id: UUID, class_id: UUID, studio_id: UUID,
              class_starts_at: datetime, lot: LotOption, remaining: int | None) -> Reservation:
        return cls(organization_id=organization_id, booking_id=booking_id, client_id=client_id, status="reserved",
                   class_id=class_id, studio_id=studio_id, class_starts_at=class_starts_at, lot_id=lot.lot_id,
                   package_id=lot.package_id, package_name=lot.package_name, credits=0 if lot.unlimited else 1,
                   remaining=remaining)

    @classmethod
    def refused(cls, *, organization_id: UUID, booking_id: UUID, client_id: UUID, class_id: UUID, studio_id: UUID,
                class_starts_at: datetime, refusal: Refusal) -> Reservation:
        return cls(organization_id=organization_id, booking_id=booking_id, client_id=client_id, status="rejected",
                   class_id=class_id, studio_id=studio_id, class_starts_at=class_starts_at, reason=refusal.reason,
                   detail=refusal.detail)

    @classmethod
    def tombstone(cls, *, organization_id: UUID, booking_id: UUID, client_id: UUID) -> Reservation:
        return cls(organization_id=organization_id, booking_id=booking_id, client_id=client_id, status="released")

    @property
    def is_tombstone(self) -> bool:
        return self.status == "released" and self.lot_id is None

    def settle(self, outcome: Settlement) -> tuple[Reservation, Move] | None:
        """The reservation after `outcome` and the ledger move it takes; None when there is nothing to do."""
        if self.status == "reserved":
            return replace(self, status=outcome), _MOVES[outcome]
        if self.status in _ALREADY[outcome]:
            return None
        raise Conflict(f"The credit of booking {self.booking_id} is already {self.status}; it cannot be {outcome}.",
                       code="credit-already-settled", status_now=self.status)
