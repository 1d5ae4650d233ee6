"""Which lot pays for a booking, and why a booking is refused."""

from billing.domain.allocation import Refusal, choose_lot

from .factories import DAY, NOW
from .factories import lot_option as lot


def choose(options, starts_at=NOW + DAY):
    return choose_lot(options, class_starts_at=starts_at, now=NOW)


def test_unlimited_first_then_earliest_expiry_then_oldest():
    later = lot(expires_at=NOW + 60 * DAY)
    sooner = lot(expires_at=NOW + 10 * DAY)
    unlimited = lot(available=0, unlimited=True, expires_at=NOW + 5 * DAY)
    assert choose([later, sooner, unlimited]) == unlimited
    assert choose([later, sooner]) == sooner
    older = lot(expires_at=NOW + 10 * DAY, valid_from=NOW - 5 * DAY)
    assert choose([sooner, older]) == older


def test_validity_is_judged_at_the_class_not_now():
    this_week = lot(valid_from=NOW - DAY, expires_at=NOW + 6 * DAY)
    next_week = lot(valid_from=NOW + 6 * DAY, expires_at=NOW + 13 * DAY)
    assert choose([this_week, next_week], starts_at=NOW + 2 * DAY) == this_week
    assert choose([this_week, next_week], starts_at=NOW + 8 * DAY) == next_week
    # Expiry is exclusive: a lot ending as the class starts does not cover it.
    assert choose([this_week, next_week], starts_at=NOW + 6 * DAY) == next_week


def test_an_unused_first_use_pack_covers_what_its_first_use_would():
    pack = lot(expires_at=None, first_use_days=30)
    assert choose([pack], starts_at=NOW + 29 * DAY) == pack
    assert isinstance(choose([pack], starts_at=NOW + 31 * DAY), Refusal)
    # Its projected expiry ranks it among the others.
    assert choose([pack, lot(expires_at=NOW + 40 * DAY)], starts_at=NOW + 2 * DAY) == pack


def test_empty_lots_do_not_pay():
    assert choose([lot(available=0), lot(available=0)]) == Refusal(
        "no-credits", "You have no credits left for this class.")


def test_credits_expiring_before_the_class_are_refused_as_expired():
    expiring = lot(available=3, expires_at=NOW + DAY)
    assert choose([expiring], starts_at=NOW + 2 * DAY).reason == "expired"
    swept = lot(available=0, expired=3, expires_at=NOW - DAY)
    assert choose([swept]).reason == "expired"


def test_used_up_is_no_credits_even_next_to_old_expired_credits():
    swept = lot(available=0, expired=2, expires_at=NOW - 10 * DAY)
    used_up = lot(available=0)
    assert choose([swept, used_up]).reason == "no-credits"
    assert choose([]).reason == "no-credits"
    # Used up, then past its date: it lost nothing to expiry.
    assert choose([lot(available=0, expires_at=NOW - DAY)]).reason == "no-credits"


def test_a_membership_week_not_granted_yet_is_no_credits_not_expired():
    last_week = lot(available=0, expired=2, valid_from=NOW - 8 * DAY, expires_at=NOW - DAY,
                    package_starts_at=NOW - 8 * DAY, package_expires_at=NOW + 34 * DAY)
    assert choose([last_week], starts_at=NOW + 10 * DAY).reason == "no-credits"
