"""Issuing packages, membership weeks, roll-over and first-use expiry."""

import uuid
from datetime import timedelta

import pytest

from billing.domain.packages import ClientPackage
from studio_platform.errors import Invalid

from .factories import NOW, membership, ten_class_pack

CLIENT = uuid.uuid4()
DAY, WEEK = timedelta(days=1), timedelta(days=7)


def issue(product, starts_at=None, now=NOW):
    return ClientPackage.issue(product, client_id=CLIENT, starts_at=starts_at, now=now)


def test_a_class_pack_is_one_lot_valid_from_purchase():
    package, lot = issue(ten_class_pack())
    assert package.expires_at == NOW + 90 * DAY
    assert (lot.valid_from, lot.expires_at, lot.credits, lot.unlimited) == (NOW, NOW + 90 * DAY, 10, False)
    assert package.next_allowance_at is None


def test_a_first_use_pack_has_no_expiry_until_used():
    package, lot = issue(ten_class_pack(validity_from="first_use"))
    assert package.expires_at is None and lot.expires_at is None
    assert package.first_use_expiry(NOW + 10 * DAY) == NOW + 100 * DAY


def test_a_membership_grants_its_first_week_and_waits_for_the_next():
    package, first = issue(membership())
    assert package.expires_at == NOW + 42 * DAY
    assert (first.valid_from, first.expires_at, first.credits) == (NOW, NOW + WEEK, 5)
    assert first.reason == "week 1 allowance"
    assert package.next_allowance_at == NOW + WEEK


def test_weeks_without_rollover_expire_at_their_end_with_rollover_at_the_membership_end():
    plain, _ = issue(membership("Committed", 182))
    rolling, _ = issue(membership("Committed rolling", 182, weekly_rollover=True))
    for k in (0, 1, 25):
        assert plain.week(k).valid_from == rolling.week(k).valid_from == NOW + k * WEEK
        assert plain.week(k).expires_at == NOW + (k + 1) * WEEK
        assert rolling.week(k).expires_at == NOW + 182 * DAY


def test_a_short_last_week_gets_its_share_rounded_up():
    package, _ = issue(membership("Totally Committed", 365))
    last = package.week(52)  # 365 = 52 weeks and a day
    assert (last.valid_from, last.expires_at, last.credits) == (NOW + 364 * DAY, NOW + 365 * DAY, 1)
    monthly, _ = issue(membership("Monthly", 30, 4))
    assert monthly.week(4).credits == 2  # 2 days of a 4-a-week plan: 8/7 rounded up


def test_unlimited_weeks_count_no_credits():
    package, first = issue(membership("Unlimited monthly", 30, None))
    assert package.unlimited and first.unlimited and first.credits == 0


def test_allowances_fall_due_a_lead_ahead_and_only_once():
    package, _ = issue(membership())
    same, due = package.allowances_due(NOW + 3 * DAY, lead=timedelta(0))
    assert due == [] and same.next_allowance_at == NOW + WEEK
    moved, due = package.allowances_due(NOW + 3 * DAY, lead=WEEK)
    assert [w.valid_from for w in due] == [NOW + WEEK]
    assert moved.next_allowance_at == NOW + 2 * WEEK
    assert moved.allowances_due(NOW + 3 * DAY, lead=WEEK)[1] == []


def test_weeks_that_already_ended_are_not_granted_and_the_last_week_ends_it():
    package, _ = issue(membership())  # 6 weeks
    later, due = package.allowances_due(NOW + 30 * DAY, lead=timedelta(0))
    assert [w.valid_from for w in due] == [NOW + 4 * WEEK]  # weeks 2-4 ended unseen; week 5 is on
    done, due = later.allowances_due(NOW + 41 * DAY, lead=WEEK)
    assert [w.valid_from for w in due] == [NOW + 5 * WEEK] and done.next_allowance_at is None


def test_a_backdated_membership_starts_with_the_current_week():
    package, first = issue(membership(), starts_at=NOW - 10 * DAY)
    assert first.valid_from == NOW - 3 * DAY and first.reason == "week 2 allowance"
    assert package.next_allowance_at == NOW + 4 * DAY


@pytest.mark.parametrize("product, starts_at, code", [
    (ten_class_pack(), NOW - 90 * DAY, "already-expired"),
    (membership(), NOW - 42 * DAY, "already-expired"),
    (ten_class_pack(active=False), None, "product-inactive"),
    (ten_class_pack(), NOW.replace(tzinfo=None), "naive-datetime"),
])
def test_issuing_rules(product, starts_at, code):
    with pytest.raises(Invalid) as error:
        issue(product, starts_at=starts_at)
    assert error.value.code == code
