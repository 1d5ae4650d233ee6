"""The outbox relay against real PostgreSQL and NATS: nothing committed is lost, nothing is published twice, and a
published row leaves the outbox."""

import asyncio
import subprocess
import sys
import textwrap
import time
import uuid

import nats
import sqlalchemy as sa
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

from studio_contracts.scheduling import ClassTypeCreated
from studio_platform.outbox import OUTBOX, OutboxRelay
from studio_platform.testing import stop_replicas
from studio_platform.uow import UnitOfWork


def class_type_created(org):
    return ClassTypeCreated(organization_id=org, class_type_id=uuid.uuid4(), name="Reformer", colour="#112233",
                            default_capacity=10, default_duration_minutes=50)


async def commit_one_event(engine, on_events=None) -> str:
    async with UnitOfWork(engine, source="/tests", on_events=on_events) as uow:
        event_id = uow.publish(class_type_created(uuid.uuid4()), subject="the-subject")
        await uow.commit()
    return str(event_id)


async def in_outbox(engine, event_id) -> bool:
    async with engine.connect() as conn:
        return await conn.scalar(sa.select(sa.func.count()).where(OUTBOX.c.id == uuid.UUID(event_id))) == 1


CRASH_AFTER_PUBLISH = textwrap.dedent("""
    import asyncio, os, sys
    import nats
    from studio_platform.db import make_engine
    from studio_platform.outbox import OutboxRelay

    async def crash(*args, **kwargs):
        os._exit(9)  # killed after JetStream acknowledged, before the row is deleted

    async def main():
        nc = await nats.connect(sys.argv[2])
        relay = OutboxRelay(make_engine(sys.argv[1]), nc, name="crash-test")
        relay.forget = crash
        await relay.drain_once(await relay.connect())

    asyncio.run(main())
""")


async def test_relay_killed_between_publish_and_delete_publishes_exactly_once(database, nc, jetstream, nats_url,
                                                                             messages_with_id):
    url, engine = database
    event_id = await commit_one_event(engine)  # committed while no relay runs

    crashed = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", CRASH_AFTER_PUBLISH, url, nats_url],
                                      timeout=60)
    assert crashed.returncode == 9
    assert await in_outbox(engine, event_id), "the crash came before the row was deleted"
    assert len(await messages_with_id(jetstream, ClassTypeCreated.subject(), event_id)) == 1

    restarted = OutboxRelay(engine, nc, name="crash-test")
    conn = await restarted.connect()
    try:
        assert await restarted.drain_once(conn) == 1  # publishes the row again...
        assert not await in_outbox(engine, event_id)
        # ...and JetStream drops the duplicate by its Nats-Msg-Id.
        assert len(await messages_with_id(jetstream, ClassTypeCreated.subject(), event_id)) == 1
        assert await restarted.drain_once(conn) == 0
    finally:
        await conn.close()


async def test_the_relay_deletes_without_waiting_for_the_disk_and_other_commits_still_wait(database, nc):
    _, engine = database
    await commit_one_event(engine)
    relay = OutboxRelay(engine, nc, name="flush-test")
    seen = []
    forget = relay.forget

    async def noting_the_setting(conn, seqs):
        seen.append(await conn.fetchval("SELECT current_setting('synchronous_commit')"))
        await forget(conn, seqs)

    relay.forget = noting_the_setting
    conn = await relay.connect()
    try:
        assert await relay.drain_once(conn) == 1
    finally:
        await conn.close()
    assert seen == ["off"]
    async with engine.connect() as db:  # the setting was the relay's session's alone
        assert await db.scalar(sa.text("SELECT current_setting('synchronous_commit')")) == "on"
        assert await db.scalar(sa.select(sa.func.count()).select_from(OUTBOX)) == 0


async def test_rolled_back_events_are_never_published(database):
    _, engine = database
    async with UnitOfWork(engine, source="/tests") as uow:
        uow.publish(class_type_created(uuid.uuid4()))
        # leaving without commit rolls back
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(OUTBOX)) == 0


async def test_published_events_read_with_the_cloudevents_sdk(database, nc, jetstream, messages_with_id):
    _, engine = database
    event_id = await commit_one_event(engine)
    relay = OutboxRelay(engine, nc, name="sdk-test")
    conn = await relay.connect()
    try:
        await relay.drain_once(conn)
    finally:
        await conn.close()
    [msg] = await messages_with_id(jetstream, ClassTypeCreated.subject(), event_id)

    event = from_http(HTTPMessage(headers=dict(msg.headers), body=msg.data), JSONFormat())
    assert event.get_id() == event_id
    assert event.get_type() == "scheduling.class_type.created.v1"
    assert event.get_source() == "/tests"
    assert event.get_subject() == "the-subject"
    assert event.get_specversion() == "1.0"
    assert event.get_data()["name"] == "Reformer"
    assert event.get_extension("organizationid") == event.get_data()["organization_id"]


async def publishes_promptly(engine, rung) -> None:
    started = time.monotonic()
    event_id = await commit_one_event(engine, on_events=rung)
    while await in_outbox(engine, event_id):
        assert time.monotonic() - started < 5, "the ring did not wake the relay"
        await asyncio.sleep(0.02)


async def test_a_commit_rings_the_relay_of_its_own_replica_and_of_another(database, nats_url):
    _, engine = database
    connections = [await nats.connect(nats_url), await nats.connect(nats_url)]
    subject = f"_studio.tests-{uuid.uuid4().hex[:8]}.outbox"
    # Polling alone would be slow; the second replica's relay finds the first leading and waits.
    leading, waiting = (OutboxRelay(engine, nc, name="ring-test", wake_subject=subject,
                                    poll_seconds=30) for nc in connections)
    tasks = [asyncio.create_task(leading.run())]
    try:
        await asyncio.sleep(0.5)  # let it take the lead and subscribe
        tasks.append(asyncio.create_task(waiting.run()))
        await publishes_promptly(engine, leading.ring)  # directly
        await publishes_promptly(engine, waiting.ring)  # by a message on the leader's wake-up subject
    finally:
        await stop_replicas(tasks, connections)


async def _outbox_vacuums(engine) -> int:
    async with engine.connect() as db:
        return await db.scalar(sa.text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'"))


async def test_the_relay_vacuums_the_outbox_once_it_has_deleted_enough_rows(database, nc):
    """Deleted rows stay in the outbox's indexes, and every drain's read steps over them, until a vacuum."""
    _, engine = database
    relay = OutboxRelay(engine, nc, name="vacuum-test", batch_size=4, vacuum_every_rows=10)
    conn = await relay.connect()
    try:
        for _ in range(9):
            await commit_one_event(engine)
        assert await relay.drain_once(conn) == 4 and await relay.drain_once(conn) == 4
        assert await _outbox_vacuums(engine) == 0  # 8 deleted
        assert await relay.drain_once(conn) == 1
        assert await _outbox_vacuums(engine) == 0  # 9
        for _ in range(5):
            await commit_one_event(engine)
        assert await relay.drain_once(conn) == 4
        assert await _outbox_vacuums(engine) == 1  # 13: vacuumed, and counting again from none
        assert await relay.drain_once(conn) == 1
        assert await _outbox_vacuums(engine) == 1
    finally:
        await conn.close()
    async with engine.connect() as db:
        assert await db.scalar(sa.select(sa.func.count()).select_from(OUTBOX)) == 0
