import uuid
from datetime import UTC, datetime, timedelta

from booking.domain.classes import BookableClass

NOW = datetime(2030, 5, 1, 9, tzinfo=UTC)


def bookable(**changes):
    values = dict(id=uuid.uuid4(), organization_id=uuid.uuid4(), studio_id=uuid.uuid4(), instructor_id=uuid.uuid4(),
                  starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=1), capacity=10,
                  registration_opens_at=None, registration_closes_at=NOW + timedelta(days=1),
                  late_cancel_cutoff=NOW + timedelta(hours=12), status="scheduled", version=1)
    return BookableClass(**{**values, **changes})


def test_registration_window():
    assert bookable().registration_open(NOW)
    assert not bookable(registration_opens_at=NOW + timedelta(hours=1)).registration_open(NOW)
    assert not bookable(registration_closes_at=NOW).registration_open(NOW)
    assert not bookable(status="cancelled").registration_open(NOW)


def test_only_a_higher_version_replaces_the_copy():
    held = bookable(version=3)
    assert bookable(version=4).is_newer_than(held)
    assert not bookable(version=2).is_newer_than(held)
    assert not bookable(version=3).is_newer_than(held)
    assert bookable().is_newer_than(None)
