"""The outcome a waiting request gets from the NOTIFY payload is the booking as the saga left it."""

import asyncio
import dataclasses
from datetime import timedelta

from booking.adapters.outcomes import CHANNEL, OutcomeWaiter, payload

from .test_bookings import FEE, cancel, confirmed, requested


def waiting_request_sees(settled):
    async def run():
        waiter = OutcomeWaiter()
        pending = dataclasses.replace(settled, status="pending", package_id=None, confirmed_at=None, reason=None,
                                      cancelled_at=None, cancelled_by=None, credit_outcome=None)
        answered = waiter.expect(settled.id)
        waiter._on_notify(None, 0, CHANNEL, payload(settled))  # as asyncpg calls it
        outcome = await waiter.wait(settled.id, answered, timeout=1)
        return outcome.applied_to(pending)
    return asyncio.run(run())


def test_a_confirmation_reaches_the_waiting_request_whole():
    booking = confirmed()
    assert waiting_request_sees(booking) == booking


def test_a_refusal_and_a_late_cancellation_reach_it_whole():
    refused = requested()
    refused.refuse("no-credits")
    assert waiting_request_sees(refused) == refused
    late = confirmed()
    cancel(late, late.class_starts_at - timedelta(hours=1), policy=FEE)
    assert waiting_request_sees(late) == late
    assert (late.status, late.credit_outcome) == ("late_cancelled", "kept-fee-due")


def test_no_answer_in_time_leaves_the_request_pending():
    async def run():
        waiter = OutcomeWaiter()
        booking = requested()
        return await waiter.wait(booking.id, waiter.expect(booking.id), timeout=0.01)
    assert asyncio.run(run()) is None
