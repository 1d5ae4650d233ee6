"""The outcome a waiting request gets, announced in its own replica or sent from another, is the booking as
the saga left it."""

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from booking.adapters.outcomes import OutcomeWaiter, payload
from booking.domain.bookings import Outcome

from .test_bookings import FEE, cancel, confirmed, requested


@dataclasses.dataclass
class Delivered:
    """What nats-py hands a subscription's callback (its data is all the waiter reads)."""

    data: bytes


async def from_this_replica(waiter, settled):
    waiter.announce(settled.id, Outcome.of(settled))


async def from_another_replica(waiter, settled):
    await waiter._on_message(Delivered(payload(settled.id, Outcome.of(settled))))


def waiting_request_sees(settled, announced):
    async def run():
        waiter = OutcomeWaiter()
        pending = dataclasses.replace(settled, status="pending", package_id=None, confirmed_at=None, reason=None,
                                      cancelled_at=None, cancelled_by=None, credit_outcome=None)
        answered = waiter.expect(settled.id)
        await announced(waiter, settled)
        outcome = await waiter.wait(settled.id, answered, timeout=1)
        return outcome.applied_to(pending)
    return asyncio.run(run())


@pytest.mark.parametrize("announced", [from_this_replica, from_another_replica])
def test_a_confirmation_reaches_the_waiting_request_whole(announced):
    booking = confirmed()
    assert waiting_request_sees(booking, announced) == booking


@pytest.mark.parametrize("announced", [from_this_replica, from_another_replica])
def test_a_refusal_and_a_late_cancellation_reach_it_whole(announced):
    refused = requested()
    refused.refuse("no-credits")
    assert waiting_request_sees(refused, announced) == refused
    late = confirmed()
    cancel(late, late.class_starts_at - timedelta(hours=1), policy=FEE)
    assert waiting_request_sees(late, announced) == late
    assert (late.status, late.credit_outcome) == ("late_cancelled", "kept-fee-due")


def test_no_answer_in_time_leaves_the_request_pending():
    async def run():
        waiter = OutcomeWaiter()
        booking = requested()
        return await waiter.wait(booking.id, waiter.expect(booking.id), timeout=0.01)
    assert asyncio.run(run()) is None
