"""Billing's contracts: the commands booking sends it, and the events it publishes.

Commands are addressed to billing and travel in billing's stream
(`billing.command.*`); billing answers each credit command with an event
(`billing.credit.*`). Every command and answer carries the booking id, and
billing treats a repeated command as the same request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from studio_contracts.base import Event

RejectReason = Literal["no-credits", "expired", "cancelled"]


class ReserveCredit(Event):
    """Booking asks for one credit to hold for a booking (the saga's first step)."""

    type = "billing.command.reserve_credit.v1"
    booking_id: UUID
    client_id: UUID
    class_id: UUID
    studio_id: UUID
    class_starts_at: datetime


class ReleaseCredit(Event):
    """Undo a reservation: the booking failed, timed out, or was given up before confirmation."""

    type = "billing.command.release_credit.v1"
    booking_id: UUID
    client_id: UUID
    reason: str


class RefundCredit(Event):
    """A confirmed booking was cancelled within policy: its credit goes back."""

    type = "billing.command.refund_credit.v1"
    booking_id: UUID
    client_id: UUID
    reason: str


class ConsumeCredit(Event):
    """The held credit is spent: the class took place, or a late cancellation forfeits it."""

    type = "billing.command.consume_credit.v1"
    booking_id: UUID
    client_id: UUID
    reason: Literal["attended", "late-cancel", "no-show"]


class CreditReserved(Event):
    type = "billing.credit.reserved.v1"
    booking_id: UUID
    client_id: UUID
    package_id: UUID
    credits: int = 1
    package_name: str
    remaining: int | None = None  # in that package after this reservation; None when unlimited


class CreditRejected(Event):
    type = "billing.credit.rejected.v1"
    booking_id: UUID
    client_id: UUID
    reason: RejectReason
    detail: str


class CreditReleased(Event):
    type = "billing.credit.released.v1"
    booking_id: UUID
    client_id: UUID
    package_id: UUID | None = None
    credits: int


class CreditRefunded(Event):
    type = "billing.credit.refunded.v1"
    booking_id: UUID
    client_id: UUID
    package_id: UUID | None = None
    credits: int


class CreditConsumed(Event):
    type = "billing.credit.consumed.v1"
    booking_id: UUID
    client_id: UUID
    package_id: UUID | None = None
    credits: int
    reason: str


class CreditsGranted(Event):
    """Credits added to a client's package: a sale, a weekly membership allowance, or a staff adjustment."""

    type = "billing.credit.granted.v1"
    client_id: UUID
    package_id: UUID
    credits: int
    reason: str
    expires_at: datetime | None = None


class CreditsExpired(Event):
    type = "billing.credit.expired.v1"
    client_id: UUID
    package_id: UUID
    credits: int


class PackageIssued(Event):
    """A client got a class pack or a membership (sold offline by staff, or paid for)."""

    type = "billing.package.issued.v1"
    client_id: UUID
    package_id: UUID
    product_id: UUID
    kind: Literal["class_pack", "membership"]
    name: str
    starts_at: datetime
    expires_at: datetime | None = None


class BillingTick(Event):
    """A repeating JetStream schedule fires this; billing's periodic work (expiry, weekly allowances) runs on it."""

    type = "billing.job.tick.v1"
    inbox = False
