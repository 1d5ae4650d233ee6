"""The unit of work's commit statement (outbox rows and notices) and its reads without a transaction."""

import asyncio
import uuid

import asyncpg
import sqlalchemy as sa

from studio_contracts.scheduling import ClassTypeCreated
from studio_platform.outbox import OUTBOX
from studio_platform.uow import UnitOfWork


async def test_notices_and_events_go_out_with_the_commit_only(database):
    url, engine = database
    heard: list[str] = []
    listener = await asyncpg.connect(url)
    await listener.add_listener("tests", lambda *args: heard.append(args[-1]))
    org = uuid.uuid4()
    event = ClassTypeCreated(organization_id=org, class_type_id=uuid.uuid4(), name="Barre", colour="#abcdef",
                             default_capacity=8, default_duration_minutes=45)
    try:
        async with UnitOfWork(engine, source="/tests") as uow:
            uow.notify("tests", "rolled back")
            uow.publish(event)
        async with UnitOfWork(engine, source="/tests") as uow:
            uow.notify("tests", "first")
            uow.notify("tests", "second")
            ids = [uow.publish(event), uow.publish(event)]
            await uow.commit()
        async with UnitOfWork(engine, source="/tests") as uow:
            uow.notify("tests", "alone")  # no events: the notice still goes
            await uow.commit()
        for _ in range(50):
            if len(heard) == 3:
                break
            await asyncio.sleep(0.02)
        assert heard == ["first", "second", "alone"]
        async with engine.connect() as conn:
            written = (await conn.execute(sa.select(OUTBOX.c.id).where(OUTBOX.c.organization_id == org)
                                          .order_by(OUTBOX.c.seq))).scalars().all()
        assert written == ids
    finally:
        await listener.close()


async def test_a_savepoint_that_fails_takes_back_only_its_own_writes_and_events(database):
    _, engine = database
    org = uuid.uuid4()
    event = ClassTypeCreated(organization_id=org, class_type_id=uuid.uuid4(), name="Barre", colour="#abcdef",
                             default_capacity=8, default_duration_minutes=45)
    async with UnitOfWork(engine, source="/tests") as uow:
        kept = uow.publish(event)
        try:
            async with uow.savepoint():
                uow.publish(event)
                uow.notify("tests", "undone")
                await uow.db.execute(sa.text("SELECT 1 / 0"))  # fails inside the savepoint
        except sa.exc.DBAPIError:
            pass
        async with uow.savepoint():
            after = uow.publish(event)
        await uow.commit()  # the transaction lives on past the failed part
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
