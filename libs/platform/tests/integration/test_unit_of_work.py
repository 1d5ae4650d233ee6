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


async def test_a_failed_commit_calls_nothing_keeps_nothing_and_the_connection_serves_on(database):
    """The outbox write succeeds and the COMMIT sent with it fails: PostgreSQL has ended the transaction, and the
    unit's rollback after it must leave the connection fit for the next unit."""
    _, engine = database
    called: list[str] = []
    org = uuid.uuid4()
    async with UnitOfWork(engine, source="/tests", on_events=lambda: called.append("rung")) as uow:
        backend = await _backend(uow)
        uow.after_commit(lambda: called.append("after"))
        uow.publish(_class_type(org))
        # checked only at the commit
        await uow.db.execute(sa.text("CREATE TEMP TABLE doomed (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
        await uow.db.execute(sa.text("INSERT INTO doomed VALUES (1), (1)"))
        with pytest.raises(sa.exc.IntegrityError):
            await uow.commit()
    assert called == []
    async with UnitOfWork(engine, source="/tests") as uow:
        assert await _backend(uow) == backend  # the same connection
        kept = uow.publish(_class_type(org))
        await uow.commit()
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org))).scalars().all() \
            == [kept]


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


def _class_type(org: uuid.UUID, name: str = "Barre") -> ClassTypeCreated:
    return ClassTypeCreated(organization_id=org, class_type_id=uuid.uuid4(), name=name, colour="#abcdef",
                            default_capacity=8, default_duration_minutes=45)


async def _backend(uow: UnitOfWork) -> int:
    return await uow.db.scalar(sa.text("SELECT pg_backend_pid()"))


async def test_the_outbox_write_goes_with_the_commit_and_the_next_transaction_is_a_new_one(database):
    _, engine = database
    org = uuid.uuid4()
    sent: list[str] = []

    def logged(record) -> None:
        sent.append(record.query)

    async with UnitOfWork(engine, source="/tests") as uow:
        await uow.db.execute(sa.text("CREATE TABLE notes (body text)"))
        driver = (await uow.db.get_raw_connection()).driver_connection
        driver.add_query_logger(logged)  # called soon after each query
        await uow.db.execute(sa.text("INSERT INTO notes VALUES ('kept')"))
        event_id = uow.publish(_class_type(org))
        await uow.commit()
        await asyncio.sleep(0)
        # one query for both, and nothing sent after it to end the transaction
        assert sent[-1].startswith("EXECUTE studio_outbox_write(") and sent[-1].endswith("; COMMIT")
        assert not uow.db.in_transaction()
        # the next statement begins a transaction of its own (not a savepoint in the committed one) ...
        await uow.db.execute(sa.text("INSERT INTO notes VALUES ('undone')"))
        await asyncio.sleep(0)
        assert uow.db.in_transaction()
        assert sent[-1].startswith("BEGIN")  # (statements SQLAlchemy prepares are not logged)
        driver.remove_query_logger(logged)
        # ... which leaving the unit rolls back alone
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT body FROM notes"))).scalars().all() == ["kept"]
        assert (await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org))).scalars().all() \
            == [event_id]


async def test_event_text_reaches_the_outbox_as_written(database):
    """The events go inside the query's text, dollar-quoted: quotes, backslashes and the quote's own tag in
    them are kept as they are."""
    _, engine = database
    org = uuid.uuid4()
    names = ["it's $q$ barre", "back\\slash '' $$ $q", "$q1$ ünïcode \u2603"]
    async with UnitOfWork(engine, source="/tests") as uow:
        for name in names:
            uow.publish(_class_type(org, name))
        await uow.commit()
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(OUTBOX.c.data).where(OUTBOX.c.organization_id == org)
                                     .order_by(OUTBOX.c.seq))).scalars().all()
    assert [data["name"] for data in stored] == names


async def test_an_outbox_write_that_fails_keeps_nothing_and_the_connection_serves_on(database):
    _, engine = database
    org = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE outbox ADD CONSTRAINT no_pilates CHECK (data->>'name' <> 'Pilates')"))
        await conn.execute(sa.text("CREATE TABLE notes (body text)"))
    with pytest.raises(sa.exc.IntegrityError) as failed:
        async with UnitOfWork(engine, source="/tests") as uow:
            backend = await _backend(uow)
            await uow.db.execute(sa.text("INSERT INTO notes VALUES ('undone')"))
            uow.publish(_class_type(org, "Pilates"))
            await uow.commit()
    assert failed.value.orig.sqlstate == "23514"
    async with UnitOfWork(engine, source="/tests") as uow:
        assert await _backend(uow) == backend  # the same connection, back in the pool
        await uow.db.execute(sa.text("INSERT INTO notes VALUES ('kept')"))
        kept = uow.publish(_class_type(org))
        await uow.commit()
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT body FROM notes"))).scalars().all() == ["kept"]
        assert (await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org))).scalars().all() \
            == [kept]


async def test_a_connection_that_lost_the_outbox_statement_prepares_it_again(database):
    _, engine = database
    org = uuid.uuid4()
    async with UnitOfWork(engine, source="/tests") as uow:
        backend = await _backend(uow)
        uow.publish(_class_type(org))
        await uow.commit()
    with pytest.raises(sa.exc.DBAPIError) as failed:
        async with UnitOfWork(engine, source="/tests") as uow:
            await uow.db.execute(sa.text("DEALLOCATE studio_outbox_write"))
            uow.publish(_class_type(org))
            await uow.commit()
    assert failed.value.orig.sqlstate == "26000"
    async with UnitOfWork(engine, source="/tests") as uow:
        assert await _backend(uow) == backend
        kept = uow.publish(_class_type(org))
        await uow.commit()
    async with engine.connect() as conn:
        assert len((await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org)))
                   .scalars().all()) == 2
        assert kept in (await conn.execute(sa.select(OUTBOX.c.id))).scalars().all()
