"""Durable consumers with the inbox and the dead-letter path, against real NATS and PostgreSQL."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import nats
import sqlalchemy as sa

from studio_contracts.scheduling import ClassTypeCreated, ClassTypeUpdated
from studio_platform.bus import Batch, Consumers, Subscription
from studio_platform.envelope import OutgoingEvent, encode_data
from studio_platform.errors import Conflict
from studio_platform.inbox import INBOX
from studio_platform.outbox import OUTBOX
from studio_platform.testing import eventually
from studio_platform.uow import UnitOfWork


def outgoing(event, event_id=None) -> OutgoingEvent:
    return OutgoingEvent(id=event_id or uuid.uuid4(), type=event.type, source="/tests", nats_subject=event.subject(),
                         subject=None, time=datetime.now(UTC), organization_id=event.organization_id,
                         data=encode_data(event))


def sample(cls, org):
    return cls(organization_id=org, class_type_id=uuid.uuid4(), name="Barre", colour="#abcdef",
               default_capacity=8, default_duration_minutes=45)


async def rows_of(engine, table, org) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(table)
                                 .where(table.c.organization_id == org))


@contextlib.asynccontextmanager
async def running_consumers(nats_url, engine, handlers, *, max_deliver=5, waiting=(), gather_seconds=0.0):
    """Consumers from now on; `waiting` events are published after the durable exists and before it pulls."""
    nc = await nats.connect(nats_url)
    consumers = Consumers(service=f"t{uuid.uuid4().hex[:8]}-platform",
                          uow_factory=lambda: UnitOfWork(engine, source="/tests"), js=nc.jetstream,
                          max_deliver=max_deliver, ack_wait_seconds=5, start="new")
    subscription = Subscription(stream="SCHEDULING", handlers=handlers, gather_seconds=gather_seconds)
    await consumers.provision(nc.jetstream(), subscription)
    for out in waiting:
        await nc.jetstream().publish(out.nats_subject, out.data, headers=out.headers())
    task = asyncio.create_task(consumers.run(subscription))
    try:
        yield
    finally:
        consumers.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()


async def test_a_redelivered_event_is_handled_once(database, jetstream, nats_url):
    _, engine = database
    org = uuid.uuid4()
    seen = []

    async def handle(event, meta, uow):
        seen.append(meta.id)

    async with running_consumers(nats_url, engine, {ClassTypeCreated: handle}):
        out = outgoing(sample(ClassTypeCreated, org))
        for _ in range(3):  # the same event, published as three different messages
            await jetstream.publish(out.nats_subject, out.data, headers={**out.headers(),
                                                                        "Nats-Msg-Id": str(uuid.uuid4())})
        other = outgoing(sample(ClassTypeCreated, org))
        await jetstream.publish(other.nats_subject, other.data, headers=other.headers())
        await eventually(lambda: asyncio.sleep(0, result=other.id in seen))
        await asyncio.sleep(0.3)
        assert seen.count(out.id) == 1
        assert await rows_of(engine, INBOX, org) == 2


async def test_a_failing_event_is_retried_then_dead_lettered(database, jetstream, nats_url):
    _, engine = database
    attempts = []

    async def always_fails(event, meta, uow):
        attempts.append(meta.id)
        raise RuntimeError("the database fell over")

    dead = await jetstream.subscribe("deadletter.>", ordered_consumer=True,
                                     deliver_policy=nats.js.api.DeliverPolicy.NEW)
    async with running_consumers(nats_url, engine, {ClassTypeUpdated: always_fails}, max_deliver=2):
        out = outgoing(sample(ClassTypeUpdated, uuid.uuid4()))
        await jetstream.publish(out.nats_subject, out.data, headers=out.headers())
        while True:
            parked = await dead.next_msg(timeout=15)
            if parked.headers.get("ce-id") == str(out.id):
                break
        assert attempts.count(out.id) == 2
        assert "the database fell over" in parked.headers["x-dead-letter-reason"]
        assert parked.headers["x-original-subject"] == out.nats_subject


async def test_waiting_events_are_handled_together_in_stream_order(database, jetstream, nats_url):
    _, engine = database
    org = uuid.uuid4()
    events = [outgoing(sample(ClassTypeCreated, org)) for _ in range(10)]
    seen: list[tuple[uuid.UUID, int]] = []

    async def handle(event, meta, uow):
        seen.append((meta.id, id(uow)))
        uow.publish(event)

    async with running_consumers(nats_url, engine, {ClassTypeCreated: handle}, waiting=events):
        # All waiting before the consumer pulls, so one pull brings them all.
        mine = {out.id for out in events}
        await eventually(lambda: asyncio.sleep(0, result=mine <= {event_id for event_id, _ in seen}))
        ours = [(event_id, uow) for event_id, uow in seen if event_id in mine]
        assert [event_id for event_id, _ in ours] == [out.id for out in events]
        assert len({uow for _, uow in ours}) < len(events) / 2  # in one or two units of work, not ten
        assert await rows_of(engine, OUTBOX, org) == 10


async def test_a_batch_handler_takes_each_run_of_its_events_at_once_in_stream_order(database, jetstream, nats_url):
    _, engine = database
    org = uuid.uuid4()
    created = [outgoing(sample(ClassTypeCreated, org)) for _ in range(4)]
    updated = outgoing(sample(ClassTypeUpdated, org))
    events = [*created[:3], updated, created[3]]
    calls: list[list[uuid.UUID]] = []

    async def handle_run(run, uow):
        calls.append([meta.id for _, meta in run])

    async def handle_one(event, meta, uow):
        calls.append([meta.id])

    async with running_consumers(nats_url, engine, {ClassTypeCreated: Batch(handle_run),
                                                    ClassTypeUpdated: handle_one}, waiting=events):
        await eventually(lambda: asyncio.sleep(0, result=sum(map(len, calls)) == len(events)))
    assert [event_id for call in calls for event_id in call] == [out.id for out in events]  # stream order
    assert calls[0] == [out.id for out in created[:3]]  # waiting together, so pulled and handled together
    assert [updated.id] in calls  # a run ends at another type's event, which goes to its own handler


async def test_a_gathering_subscription_handles_what_comes_within_its_window_as_one_batch(database, jetstream,
                                                                                         nats_url):
    _, engine = database
    org = uuid.uuid4()
    events = [outgoing(sample(ClassTypeCreated, org)) for _ in range(5)]
    calls: list[list[uuid.UUID]] = []

    async def handle_run(run, uow):
        calls.append([meta.id for _, meta in run])

    async with running_consumers(nats_url, engine, {ClassTypeCreated: Batch(handle_run)}, gather_seconds=1.0):
        await asyncio.sleep(0.3)  # the consumer is waiting for a first message
        for out in events:  # one by one, each after the last was stored: without gathering, several batches
            await jetstream.publish(out.nats_subject, out.data, headers=out.headers())
            await asyncio.sleep(0.05)
        await eventually(lambda: asyncio.sleep(0, result=sum(map(len, calls)) == len(events)))
    assert calls == [[out.id for out in events]]


async def test_a_bad_event_in_a_batch_is_parked_and_the_rest_are_handled_once(database, jetstream, nats_url):
    _, engine = database
    org = uuid.uuid4()
    events = [outgoing(sample(ClassTypeCreated, org)) for _ in range(5)]
    bad = events[2].id
    dead = await jetstream.subscribe("deadletter.>", ordered_consumer=True,
                                     deliver_policy=nats.js.api.DeliverPolicy.NEW)
    attempts: list[uuid.UUID] = []

    async def handle(event, meta, uow):
        attempts.append(meta.id)
        if meta.id == bad:
            raise Conflict("That class type is no longer offered.", code="class-type-retired")
        uow.publish(event)

    async with running_consumers(nats_url, engine, {ClassTypeCreated: handle}, waiting=events):
        while True:
            parked = await dead.next_msg(timeout=15)
            if parked.headers.get("ce-id") == str(bad):
                break
        assert "That class type is no longer offered." in parked.headers["x-dead-letter-reason"]
        await eventually(lambda: asyncio.sleep(0, result=all(out.id in attempts for out in events)))
        # The batch that failed left nothing behind; each good event was handled and written once.
        assert await rows_of(engine, OUTBOX, org) == 4
        assert await rows_of(engine, INBOX, org) == 4


async def test_a_backlog_is_pulled_one_request_a_batch(database, jetstream, nats_url):
    _, engine = database
    org = uuid.uuid4()
    events = [outgoing(sample(ClassTypeCreated, org)) for _ in range(70)]
    observer = await nats.connect(nats_url)
    pulls = await observer.subscribe("$JS.API.CONSUMER.MSG.NEXT.SCHEDULING.*")  # a copy of every pull request
    batches: list[tuple[int, int]] = []  # each batch's size, and the pull requests sent before it was handled

    async def handle_run(run, uow):
        await observer.flush()  # every request this batch answered has reached the observer
        batches.append((len(run), pulls.pending_msgs))

    async with running_consumers(nats_url, engine, {ClassTypeCreated: Batch(handle_run)}, waiting=events):
        await eventually(lambda: asyncio.sleep(0, result=sum(size for size, _ in batches) == len(events)))
    await observer.close()
    # The first batch takes two pulls (the first message, then those its metadata says wait behind it); each
    # batch after it, with more waiting, one.
    assert batches == [(32, 2), (32, 3), (6, 4)]
