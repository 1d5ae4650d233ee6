"""The unit of work's commit (outbox rows, then the calls queued for after it) and its reads without a transaction."""

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from studio_contracts.scheduling import ClassTypeCreated
from studio_platform import inbox
from studio_platform.outbox import OUTBOX
from studio_platform.uow import UnitOfWork


async def test_events_and_after_commit_calls_go_out_with_the_commit_only(database):
    _, engine = database
    called: list[str] = []
    rings: list[int] = []

    def unit():
        return UnitOfWork(engine, source="/tests", on_events=lambda: rings.append(len(called)))

    org = uuid.uuid4()
    event = ClassTypeCreated(organization_id=org, class_type_id=uuid.uuid4(), name="Barre", colour="#abcdef",
                             default_capacity=8, default_duration_minutes=45)
    async with unit() as uow:
        uow.after_commit(lambda: called.append("rolled back"))
        uow.publish(event)
    assert called == [] and rings == []
    async with unit() as uow:
        uow.after_commit(lambda: called.append("first"))
        uow.after_commit(lambda: called.append("second"))
        ids = [uow.publish(event), uow.publish(event)]
        assert called == []
        await uow.commit()
    assert called == ["first", "second"]
    assert rings == [2]  # rung once for the commit's events, after the unit's own calls
    async with unit() as uow:
        uow.after_commit(lambda: called.append("alone"))  # no events: the call still comes, the relay's bell not
        await uow.commit()
    assert called == ["first", "second", "alone"] and rings == [2]
    async with engine.connect() as conn:
        written = (await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org)
                                      .order_by(OUTBOX.c.seq))).scalars().all()
    assert written == ids


async def test_a_call_after_the_commit_that_fails_does_not_undo_or_hide_it(database):
    _, engine = database
    called: list[str] = []

    def failing() -> None:
        raise RuntimeError("the relay is away")

    async with UnitOfWork(engine, source="/tests", on_events=lambda: called.append("rung")) as uow:
        uow.after_commit(failing)
        uow.after_commit(lambda: called.append("after"))
        event_id = uow.publish(ClassTypeCreated(organization_id=uuid.uuid4(), class_type_id=uuid.uuid4(),
                                                name="Barre", colour="#abcdef", default_capacity=8,
                                                default_duration_minutes=45))
        await uow.commit()  # does not raise: what the unit wrote is committed
    assert called == ["after", "rung"]
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).where(OUTBOX.c.id == event_id)) == 1


async def test_a_failed_commit_calls_nothing(database):
    _, engine = database
    called: list[str] = []
    async with UnitOfWork(engine, source="/tests", on_events=lambda: called.append("rung")) as uow:
        uow.after_commit(lambda: called.append("after"))
        uow.publish(ClassTypeCreated(organization_id=uuid.uuid4(), class_type_id=uuid.uuid4(), name="Barre",
                                     colour="#abcdef", default_capacity=8, default_duration_minutes=45))
        # checked only at the commit
        await uow.db.execute(sa.text("CREATE TEMP TABLE doomed (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
        await uow.db.execute(sa.text("INSERT INTO doomed VALUES (1), (1)"))
        with pytest.raises(sa.exc.DBAPIError):
            await uow.commit()
    assert called == []


async def test_a_savepoint_that_fails_takes_back_only_its_own_writes_and_events(database):
    _, engine = database
    called: list[str] = []
    org = uuid.uuid4()
    event = ClassTypeCreated(organization_id=org, class_type_id=uuid.uuid4(), name="Barre", colour="#abcdef",
                             default_capacity=8, default_duration_minutes=45)
    async with UnitOfWork(engine, source="/tests") as uow:
        kept = uow.publish(event)
        uow.after_commit(lambda: called.append("kept"))
        try:
            async with uow.savepoint():
                uow.publish(event)
                uow.after_commit(lambda: called.append("undone"))
                await uow.db.execute(sa.text("SELECT 1 / 0"))  # fails inside the savepoint
        except sa.exc.DBAPIError:
            pass
        async with uow.savepoint():
            after = uow.publish(event)
        await uow.commit()  # the transaction lives on past the failed part
    assert called == ["kept"]
    async with engine.connect() as conn:
        written = (await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org)
                                      .order_by(OUTBOX.c.seq))).scalars().all()
    assert written == [kept, after]


async def test_a_reading_unit_opens_no_transaction(database):
    _, engine = database
    uow = UnitOfWork(engine, source="/tests")

    async def two_clock_readings() -> tuple:
        first = await uow.db.scalar(sa.text("SELECT now()"))
        await asyncio.sleep(0.01)
        return first, await uow.db.scalar(sa.text("SELECT now()"))

    async with uow.reading():
        first, second = await two_clock_readings()
    assert first < second  # now() is each statement's own moment: no transaction around them
    async with uow:
        first, second = await two_clock_readings()
    assert first == second  # the transaction's start, for both


async def test_claiming_no_events_costs_no_statement(database):
    """A consumer's batch of events that keep no inbox (snapshots by version) claims nothing: no round trip,
    so the unit has not even begun its transaction."""
    _, engine = database
    async with UnitOfWork(engine, source="/tests") as uow:
        assert await uow.claim_inbox("tests", []) == set()
        assert not uow.db.in_transaction()
        event = inbox.Received(uuid.uuid4(), uuid.uuid4(), "test.event.v1")
        assert await uow.claim_inbox("tests", [event]) == {event.id}
        assert await uow.claim_inbox("tests", [event]) == set()  # claimed once per consumer
