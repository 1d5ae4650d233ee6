"""Crashes during a booking rush: booking and billing (with their outbox relays) SIGKILLed at random moments,
NATS restarted once. Afterwards every saga is final within 60 s and every invariant holds.

Bounded: a fixed number of bookings, a fixed chaos schedule, and it stops by itself.
"""

import asyncio
import os
import random
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from devstack.infra import EmbeddedNats
from devstack.invariants import violations, wait_until_settled
from devstack.stack import Stack
from studio_platform.testing import eventually

pytestmark = pytest.mark.e2e

BOOKINGS = int(os.environ.get("CRASH_TEST_BOOKINGS", "2000"))
CLIENTS, CLASSES, CAPACITY = 120, 20, 40
CONCURRENCY = 24


@pytest.fixture
def chaos_stack(database_server_url):
    """A platform of its own, on a NATS of its own (so it can be restarted)."""
    tag = uuid.uuid4().hex[:6]
    state = tempfile.mkdtemp(prefix="studio-crash-")  # KEEP_STATE=1 keeps the logs for a post-mortem
    try:
        nats_server = EmbeddedNats(Path(state) / "nats")
        nats_url = nats_server.start()
        platform = Stack(nats_url=nats_url, database_url=database_server_url, state_dir=Path(state),
                         database_prefix=f"crash_{tag}_", durable_prefix=f"crash{tag}-",
                         extra_env={"LOG_LEVEL": "WARNING", "RATE_LIMIT_AUTH": "100000/minute",
                                    "RATE_LIMIT_DEFAULT": "100000/minute", "RATE_LIMIT_BOOKING": "100000/minute",
                                    "SAGA_TIMEOUT_SECONDS": "10", "SYNC_WAIT_SECONDS": "0.5",
                                    # A message a killed process had fetched comes back after this.
                                    "CONSUMER_ACK_WAIT_SECONDS": "5"})
        try:
            platform.start()
            yield platform, nats_server
        finally:
            platform.stop()
            nats_server.stop()
    finally:
        if not os.environ.get("KEEP_STATE"):
            shutil.rmtree(state, ignore_errors=True)


async def attempt(http: httpx.AsyncClient, method: str, path: str, token: str, **kwargs) -> httpx.Response | None:
    """A careful client: retries through crashes with the same Idempotency-Key, then gives up."""
    for _ in range(6):
        try:
            response = await http.request(method, path, headers={"Authorization": f"Bearer {token}",
                                                                 **kwargs.pop("headers", {})}, **kwargs)
            if response.status_code < 500:
                return response
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    return None


async def chaos(stack: Stack, nats_server: EmbeddedNats, stop: asyncio.Event) -> list[str]:
    """Kill booking or billing every few seconds (restarting it), and restart NATS once, in the second round: early
    enough that it falls inside the rush on a fast machine too (the rush there lasts some 15 s)."""
    rng, done = random.Random(7), []
    rounds = 0
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(2.0, 4.0))
        if stop.is_set():
            break
        rounds += 1
        if rounds == 2:
            await asyncio.to_thread(nats_server.stop)
            await asyncio.sleep(1)
            await asyncio.to_thread(nats_server.start)
            done.append("nats restarted")
            continue
        victim = rng.choice(["booking", "billing"])
        stack.kill(victim)
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        await asyncio.to_thread(stack.restart, victim)
        done.append(f"{victim} killed")
    return done


async def test_every_saga_settles_and_every_invariant_holds_after_crashes(chaos_stack, driver):
    stack, nats_server = chaos_stack
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30,
                                 limits=httpx.Limits(max_connections=CONCURRENCY * 2)) as http:
        studio = await driver(http).open(capacity=CAPACITY, pack_credits=CLASSES)
        lessons = [await studio.schedule(starts_in=timedelta(days=2, hours=2 * i))
                   for i in range(CLASSES)]
        people = await studio.clients(CLIENTS)

        rng = random.Random(11)
        plan = [(rng.choice(people), rng.choice(lessons), rng.random() < 0.2) for _ in range(BOOKINGS)]
        gate = asyncio.Semaphore(CONCURRENCY)
        outcomes: list[int | None] = []

        async def one(person, lesson, then_cancel):
            async with gate:
                key = uuid.uuid4().hex
                booked = await attempt(http, "POST", f"/v1/classes/{lesson['id']}/bookings", person.token,
                                       headers={"Idempotency-Key": key})
                outcomes.append(booked.status_code if booked else None)
                if then_cancel and booked is not None and booked.status_code in (201, 202):
                    await attempt(http, "POST", f"/v1/bookings/{booked.json()['id']}/cancel", person.token,
                                  json={})

        stop = asyncio.Event()
        started = time.monotonic()
        disturber = asyncio.create_task(chaos(stack, nats_server, stop))
        await asyncio.gather(*(one(*step) for step in plan))
        stop.set()
        disturbed = await disturber
        print(f"{BOOKINGS} bookings in {time.monotonic() - started:.1f}s through: {disturbed}")
        await asyncio.to_thread(stack.wait_ready, 60)

    assert "nats restarted" in disturbed and any("killed" in d for d in disturbed), disturbed
    assert sum(1 for o in outcomes if o in (201, 202)) > BOOKINGS // 4, outcomes  # the rush really booked
    org = uuid.UUID(studio.org)
    settled_in = await wait_until_settled(stack.databases["booking"], org, timeout=60)
    # Billing settles the last credits (commands a killed billing had fetched come back after the ack wait).
    found = await eventually(lambda: violations(stack.databases["booking"], stack.databases["billing"], org),
                             timeout=60, interval=1, until=lambda v: v == [])
    print(f"every saga final {settled_in:.1f}s after the rush")
    assert found == []
