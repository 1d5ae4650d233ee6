"""Every published event type, for decoding and for the generated catalogue."""

from __future__ import annotations

from studio_contracts import billing, booking, identity, scheduling
from studio_contracts.base import Event

EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        identity.OrganizationCreated,
        identity.StudioCreated,
        identity.StudioUpdated,
        identity.MemberJoined,
        identity.InvitationCreated,
        scheduling.ClassTypeCreated,
        scheduling.ClassTypeUpdated,
        scheduling.ClassScheduled,
        scheduling.ClassUpdated,
        scheduling.ClassCancelled,
        billing.ReserveCredit,
        billing.ReleaseCredit,
        billing.RefundCredit,
        billing.ConsumeCredit,
        billing.CreditReserved,
        billing.CreditRejected,
        billing.CreditReleased,
        billing.CreditRefunded,
        billing.CreditConsumed,
        billing.CreditsGranted,
        billing.CreditsExpired,
        billing.PackageIssued,
        billing.BillingTick,
        booking.BookingRequested,
        booking.BookingConfirmed,
        booking.BookingRejected,
        booking.BookingCancelled,
        booking.BookingLateCancelled,
        booking.WaitlistJoined,
        booking.WaitlistLeft,
        booking.WaitlistPromoted,
        booking.WaitlistSkipped,
        booking.ClassAvailabilityChanged,
        booking.BookingTick,
    )
}


def event_class(type_: str) -> type[Event] | None:
    return EVENT_TYPES.get(type_)
