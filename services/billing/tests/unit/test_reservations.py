"""A reservation's settlements: each happens once, and repeats change nothing."""

import uuid
from datetime import timedelta

import pytest

from billing.domain.credits import Move
from billing.domain.reservations import Reservation
from studio_platform.errors import Conflict

from .factories import NOW, ORG
from .factories import lot_option as lot


def reserved():
    return Reservation.taken(organization_id=ORG, booking_id=uuid.uuid4(), client_id=uuid.uuid4(),
                             class_id=uuid.uuid4(), studio_id=uuid.uuid4(), class_starts_at=NOW + timedelta(days=1),
                             lot=lot(), remaining=4)


@pytest.mark.parametrize("outcome, move", [("released", Move.RELEASE), ("refunded", Move.REFUND),
                                           ("consumed", Move.CONSUME)])
def test_a_held_credit_is_settled_once(outcome, move):
    after, taken = reserved().settle(outcome)
    assert after.status == outcome and taken is move
    assert after.settle(outcome) is None


def test_what_a_settlement_finds_already_done():
    released, _ = reserved().settle("released")
    assert released.settle("refunded") is None  # the credit is back with the client either way
    consumed, _ = reserved().settle("consumed")
    assert consumed.settle("released") is None
    with pytest.raises(Conflict):
        consumed.settle("refunded")
    with pytest.raises(Conflict):
        released.settle("consumed")


def test_an_unlimited_reservation_holds_no_credit_and_a_tombstone_no_lot():
    assert Reservation.taken(organization_id=ORG, booking_id=uuid.uuid4(), client_id=uuid.uuid4(),
                             class_id=uuid.uuid4(), studio_id=uuid.uuid4(), class_starts_at=NOW,
                             lot=lot(unlimited=True, available=0), remaining=None).credits == 0
    tombstone = Reservation.tombstone(organization_id=ORG, booking_id=uuid.uuid4(), client_id=uuid.uuid4())
    assert tombstone.is_tombstone and tombstone.settle("released") is None
