"""Counter transitions, the credit invariant under random histories, and where adjustments land."""

import random
import uuid
from collections import Counter as Tally
from datetime import timedelta

import pytest

from billing.domain.credits import Counters, CreditLot, Move, NotEnoughCredits, adjustment_plan
from studio_platform.errors import Invalid

from .factories import NOW, ORG


def test_each_move_shifts_credits_between_the_counters_it_names():
    lot = Counters().apply(Move.GRANT, 10)
    assert lot == Counters(granted=10, available=10)
    lot = lot.apply(Move.RESERVE, 1).apply(Move.RESERVE, 1).apply(Move.RESERVE, 1)
    assert (lot.available, lot.held) == (7, 3)
    lot = lot.apply(Move.CONSUME, 1).apply(Move.RELEASE, 1).apply(Move.REFUND, 1)
    assert (lot.available, lot.held, lot.spent) == (9, 0, 1)
    lot = lot.apply(Move.ADJUST, -2).apply(Move.EXPIRE, 7)
    assert lot == Counters(granted=10, adjusted=-2, available=0, held=0, spent=1, expired=7)
    assert lot.balanced


@pytest.mark.parametrize("move, credits", [(Move.RESERVE, 1), (Move.CONSUME, 1), (Move.RELEASE, 1),
                                           (Move.REFUND, 1), (Move.EXPIRE, 1), (Move.ADJUST, -1)])
def test_nothing_goes_below_zero(move, credits):
    with pytest.raises(NotEnoughCredits):
        Counters().apply(move, credits)


def test_an_adjustment_moves_something():
    with pytest.raises(Invalid):
        Counters(granted=1, available=1).apply(Move.ADJUST, 0)


def test_random_histories_keep_the_invariant_and_add_up_to_the_counters():
    rng = random.Random(20300304)
    moves = list(Move)
    for _ in range(500):
        counters, moved = Counters(), Tally()
        for _ in range(rng.randint(1, 60)):
            move = rng.choice(moves)
            credits = rng.randint(-3, 3) if move is Move.ADJUST else rng.randint(0, 3)
            try:
                counters = counters.apply(move, credits)
            except Invalid:  # refused moves change nothing
                continue
            moved[move] += credits
            assert counters.balanced
        assert Counters.from_ledger(moved) == counters


def lot(available, *, valid_from=NOW - timedelta(days=1), expires_at=NOW + timedelta(days=6), unlimited=False):
    return CreditLot(id=uuid.uuid4(), organization_id=ORG, client_id=uuid.uuid4(), package_id=uuid.uuid4(),
                     valid_from=valid_from, expires_at=expires_at, unlimited=unlimited,
                     counters=Counters(granted=available, available=available))


def test_added_credits_go_to_the_lot_in_force_now():
    this_week, next_week = lot(0), lot(5, valid_from=NOW + timedelta(days=6), expires_at=NOW + timedelta(days=13))
    assert adjustment_plan([this_week, next_week], 2, now=NOW) == [(this_week, 2)]
    assert adjustment_plan([next_week], 2, now=NOW) == [(next_week, 2)]


def test_removed_credits_come_from_the_lots_expiring_first():
    soon, later = lot(1, expires_at=NOW + timedelta(days=2)), lot(5, expires_at=NOW + timedelta(days=9))
    assert adjustment_plan([later, soon], -3, now=NOW) == [(soon, -1), (later, -2)]
    with pytest.raises(NotEnoughCredits):
        adjustment_plan([later, soon], -7, now=NOW)


@pytest.mark.parametrize("lots, credits, code", [([], 1, "nothing-to-adjust"),
                                                 ([lot(0, unlimited=True)], 1, "nothing-to-adjust"),
                                                 ([lot(3)], 0, "zero-adjustment")])
def test_adjustments_need_credits_to_adjust(lots, credits, code):
    with pytest.raises(Invalid) as error:
        adjustment_plan(lots, credits, now=NOW)
    assert error.value.code == code
