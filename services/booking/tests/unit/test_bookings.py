import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from booking.domain.bookings import Booking, new_reference
from booking.domain.classes import Seats
from booking.domain.policy import BookingPolicy
from booking.domain.waitlist import WaitlistEntry
from studio_platform.errors import Conflict, Invalid

from .test_classes import NOW, bookable

FORFEIT = BookingPolicy(late_cancel_policy="forfeit", late_cancel_fee_minor=0, currency="GBP", waitlist_limit=2,
                        promotion_cutoff_minutes=30)
FEE = BookingPolicy(late_cancel_policy="fee", late_cancel_fee_minor=500, currency="GBP", waitlist_limit=2,
                    promotion_cutoff_minutes=30)


def requested(**changes):
    booking = Booking.request(of=bookable(**changes), client_id=uuid.uuid4(), now=NOW, timeout=timedelta(seconds=30))
    booking.events.clear()
    return booking


def confirmed():
    return replace(requested(), status="confirmed", package_id=uuid.uuid4(), confirmed_at=NOW)


def cancel(booking, at, policy=FORFEIT, **kwargs):
    return booking.cancel(now=at, by=booking.client_id, reason=None, policy=policy,
                          late_cancel_cutoff=booking.class_starts_at - timedelta(hours=12), **kwargs)


def test_a_request_holds_until_its_deadline():
    booking = Booking.request(of=bookable(), client_id=uuid.uuid4(), now=NOW, timeout=timedelta(seconds=30))
    assert booking.pending and booking.deadline_at == NOW + timedelta(seconds=30)
    assert booking.events == ["requested"] and booking.reference.startswith("BK-")


def test_refusals_and_timeouts_are_final():
    refused, timed_out = requested(), requested()
    refused.refuse("no-credits")
    timed_out.refuse("timeout")
    assert (refused.status, timed_out.status) == ("rejected", "failed")


def test_cancelling_in_time_refunds():
    booking = confirmed()
    assert cancel(booking, NOW) == "refunded" and booking.status == "cancelled"


def test_cancelling_late_follows_the_studio_policy():
    late = confirmed().class_starts_at - timedelta(hours=2)
    forfeit, fee = confirmed(), confirmed()
    assert cancel(forfeit, late) == "forfeited" and forfeit.status == "late_cancelled"
    assert cancel(fee, late, FEE) == "kept-fee-due" and fee.status == "late_cancelled"
    waived = confirmed()
    assert cancel(waived, late, waive_late_cancel=True) == "refunded"


def test_a_pending_booking_cancels_by_releasing():
    booking = requested()
    assert cancel(booking, NOW) == "released"


def test_what_cannot_be_cancelled():
    booking = confirmed()
    cancel(booking, NOW)
    with pytest.raises(Conflict):
        cancel(booking, NOW)
    with pytest.raises(Conflict):
        cancel(confirmed(), NOW + timedelta(days=2))  # the class has started


def test_a_class_cancellation_refunds_whatever_the_policy():
    late = confirmed()
    assert late.cancel_with_class(NOW) == "refunded"
    assert requested().cancel_with_class(NOW) == "released"


def test_references_avoid_look_alike_characters():
    assert not set("".join(new_reference() for _ in range(200))) & set("01IO")


def test_waitlist_only_for_full_classes_and_within_its_limit():
    full = Seats(capacity=2, held=2, confirmed=2, waitlisted=0, version=1)
    WaitlistEntry.join(of=bookable(), client_id=uuid.uuid4(), seats=full, policy=FORFEIT, now=NOW)
    with pytest.raises(Conflict, match="spots left"):
        WaitlistEntry.join(of=bookable(), client_id=uuid.uuid4(), policy=FORFEIT, now=NOW,
                           seats=Seats(capacity=2, held=1, confirmed=1, waitlisted=0, version=1))
    with pytest.raises(Conflict, match="waitlist is full"):
        WaitlistEntry.join(of=bookable(), client_id=uuid.uuid4(), policy=FORFEIT, now=NOW,
                           seats=Seats(capacity=2, held=2, confirmed=2, waitlisted=2, version=1))


def test_promotion_stops_before_class():
    start = NOW + timedelta(hours=1)
    assert FORFEIT.promotes_at(start, NOW)
    assert not FORFEIT.promotes_at(start, start - timedelta(minutes=29))


def test_policy_rules():
    with pytest.raises(Invalid):
        BookingPolicy(late_cancel_policy="fee", late_cancel_fee_minor=0, currency="GBP", waitlist_limit=5,
                      promotion_cutoff_minutes=30)
