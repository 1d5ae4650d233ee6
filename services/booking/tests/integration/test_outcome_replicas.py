"""Two replicas on real NATS: the one that commits a booking's outcome reaches the request held by the other."""

import asyncio

import nats

from booking.adapters.outcomes import OutcomeWaiter
from booking.domain.bookings import Outcome
from studio_platform.testing import stop_replicas

from ..unit.test_bookings import confirmed


async def test_an_outcome_committed_in_one_replica_answers_the_request_held_by_another(nats_url):
    subject = "_studio.tests.booking.outcomes"
    holding, committing = OutcomeWaiter(), OutcomeWaiter()
    connections = [await nats.connect(nats_url), await nats.connect(nats_url)]
    listening = [asyncio.create_task(waiter.listen(nc, subject))
                 for waiter, nc in zip((holding, committing), connections, strict=True)]
    try:
        await asyncio.sleep(0.2)  # both subscribed
        booking = confirmed()
        answered = holding.expect(booking.id)
        committing.announce(booking.id, Outcome.of(booking))  # nobody waits for it there: sent on
        outcome = await holding.wait(booking.id, answered, timeout=2)
        assert outcome is not None and outcome.fields == Outcome.of(booking).fields
    finally:
        await stop_replicas(listening, connections)
