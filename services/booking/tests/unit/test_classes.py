import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking.domain.classes import BookableClass, Seats, ensure_bookable, is_newer, registration_open
from studio_platform.errors import Conflict

NOW = datetime(2030, 5, 1, 9, tzinfo=UTC)


def bookable(**changes):
    values = {"id": uuid.uuid4(), "organization_id": uuid.uuid4(), "name": "Reformer", "studio_id": uuid.uuid4(),
              "instructor_id": uuid.uuid4(), "starts_at": NOW + timedelta(days=1),
              "ends_at": NOW + timedelta(days=1, hours=1), "capacity": 10, "registration_opens_at": None,
              "registration_closes_at": NOW + timedelta(days=1), "late_cancel_cutoff": NOW + timedelta(hours=12),
              "status": "scheduled", "version": 1}
    return BookableClass(**{**values, **changes})


def test_registration_window():
    assert registration_open(bookable(), NOW)
    assert not registration_open(bookable(registration_opens_at=NOW + timedelta(hours=1)), NOW)
    assert not registration_open(bookable(registration_closes_at=NOW), NOW)
    assert not registration_open(bookable(status="cancelled"), NOW)


@pytest.mark.parametrize("changes, code", [
    ({"status": "cancelled"}, "class-cancelled"),
    ({"registration_opens_at": NOW + timedelta(hours=1)}, "registration-not-open"),
    ({"registration_closes_at": NOW}, "registration-closed"),
])
def test_why_a_class_cannot_be_booked(changes, code):
    with pytest.raises(Conflict) as refused:
        ensure_bookable(bookable(**changes), NOW)
    assert refused.value.code == code


def test_only_a_higher_version_replaces_the_copy():
    held = bookable(version=3)
    assert is_newer(bookable(version=4), held)
    assert not is_newer(bookable(version=2), held)
    assert not is_newer(bookable(version=3), held)
    assert is_newer(bookable(), None)


def test_pending_bookings_hold_seats():
    assert Seats(capacity=10, held=9, confirmed=6, waitlisted=0, version=1).left == 1
    assert Seats(capacity=10, held=11, confirmed=8, waitlisted=0, version=1).left == 0
    assert Seats(capacity=10, held=9, confirmed=6, waitlisted=0, version=1).pending == 3
