"""Statements run on asyncpg itself (db.Prepared): in the unit's transaction, with SQLAlchemy's values and errors.

They lean on SQLAlchemy's asyncpg adapter's private state (see db._on_asyncpg): these tests are what fails
if an upgrade changes it.
"""

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from studio_platform.db import Prepared, given_rows, looked_up
from studio_platform.uow import UnitOfWork

_md = sa.MetaData()
THINGS = sa.Table(
    "things", _md,
    sa.Column("id", PG_UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("doc", JSONB),
    sa.Column("plain", JSON),
    sa.Column("tags", ARRAY(sa.Text)),
    sa.Column("ref", PG_UUID(as_uuid=False)),  # read back as text: a type with a result processor
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("n", sa.Integer),
    sa.Column("flag", sa.Boolean),
)
_ADD = sa.insert(THINGS).values({c.name: sa.bindparam(c.name, type_=c.type) for c in THINGS.c}).returning(THINGS)
ADD = Prepared(_ADD)
NAMES = Prepared(sa.select(THINGS.c.name).where(THINGS.c.name.in_(("kept", "first", "outer", "inner")))
                 .order_by(THINGS.c.name))
NOW = Prepared(sa.select(sa.func.now()))
FAIL = Prepared(sa.text("SELECT 1 / 0"))


@pytest.fixture
async def engine(database):
    _, engine = database
    async with engine.begin() as conn:
        await conn.run_sync(_md.create_all)
    return engine


def thing(name: str | None, **values) -> dict:
    return {c.name: None for c in THINGS.c} | {"id": uuid.uuid4(), "name": name} | values


async def names(engine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.select(THINGS.c.name).order_by(THINGS.c.name))).scalars())


async def test_a_raw_and_a_sqlalchemy_statement_share_the_units_transaction(engine):
    async with UnitOfWork(engine, source="/tests") as uow:
        await uow.db.execute(_ADD, thing("by sqlalchemy"))
        await ADD.first(uow.db, thing("raw"))
        assert await NOW.scalar(uow.db) == await uow.db.scalar(sa.select(sa.func.now()))  # one transaction
        # leaving without commit rolls both back
    assert await names(engine) == []
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.first(uow.db, thing("raw"))
        await uow.db.execute(_ADD, thing("by sqlalchemy"))
        await uow.commit()
    assert await names(engine) == ["by sqlalchemy", "raw"]


async def test_a_raw_statement_first_in_a_unit_is_inside_its_transaction(engine):
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.first(uow.db, thing("first"))
        await uow.rollback()
        assert await NAMES.all(uow.db) == []
        await ADD.first(uow.db, thing("first"))  # and again after the rollback, in a new one
    assert await names(engine) == []
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.first(uow.db, thing("first"))
        await uow.commit()  # the unit's commit ends the transaction the raw statement began
    assert await names(engine) == ["first"]


async def test_a_commit_ends_the_transaction_and_the_next_statement_begins_another(engine):
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.first(uow.db, thing("first"))
        await uow.commit()
        assert not uow.db.in_transaction()
        await uow.db.execute(_ADD, thing("outer"))  # by SQLAlchemy, then raw, in a second transaction
        await ADD.first(uow.db, thing("inner"))
        assert uow.db.in_transaction()
        # leaving without a second commit rolls back the second transaction alone
    assert await names(engine) == ["first"]


async def test_a_commit_that_fails_raises_as_sqlalchemy_does_and_keeps_nothing(engine):
    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE things ADD CONSTRAINT things_one_n UNIQUE (n) "
                                   "DEFERRABLE INITIALLY DEFERRED"))
    with pytest.raises(sa.exc.IntegrityError) as failed:
        async with UnitOfWork(engine, source="/tests") as uow:
            await ADD.first(uow.db, thing("first", n=1))
            await ADD.first(uow.db, thing("outer", n=1))  # the constraint is checked at the commit
            await uow.commit()
    assert failed.value.orig.sqlstate == "23505"
    assert await names(engine) == []
    async with UnitOfWork(engine, source="/tests") as uow:  # the pool's connections are usable
        await ADD.first(uow.db, thing("kept", n=1))
        await uow.commit()
    assert await names(engine) == ["kept"]


async def test_a_failing_savepoint_takes_back_only_its_own_raw_writes(engine):
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.first(uow.db, thing("outer"))
        with pytest.raises(sa.exc.DBAPIError) as failed:
            async with uow.savepoint():
                await ADD.first(uow.db, thing("inner"))
                assert [r["name"] for r in await NAMES.all(uow.db)] == ["inner", "outer"]
                await FAIL.all(uow.db)
        assert failed.value.orig.sqlstate == "22012"  # division by zero, as SQLAlchemy raises it
        assert [r["name"] for r in await NAMES.all(uow.db)] == ["outer"]
        async with uow.savepoint():
            await ADD.first(uow.db, thing("kept"))
        await uow.commit()
    assert await names(engine) == ["kept", "outer"]


async def test_a_reading_unit_runs_raw_statements_without_a_transaction(engine):
    uow = UnitOfWork(engine, source="/tests")
    async with uow.reading():
        first = await NOW.scalar(uow.db)
        await asyncio.sleep(0.01)
        assert await NOW.scalar(uow.db) > first  # each statement's own moment
        assert await uow.db.scalar(sa.select(sa.func.now())) > first
    async with uow:  # the connection went back to the pool out of autocommit
        first = await NOW.scalar(uow.db)
        await asyncio.sleep(0.01)
        assert await NOW.scalar(uow.db) == first


async def test_values_round_trip_as_through_sqlalchemy(engine):
    values = dict(doc={"a": [1, "two", None], "b": {"c": True}}, plain=["x", {"y": 1.5}], tags=("one", "two"),
                  ref=str(uuid.uuid4()), at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), n=7, flag=True)
    async with UnitOfWork(engine, source="/tests") as uow:
        by_sqlalchemy = dict((await uow.db.execute(_ADD, thing("same", **values))).mappings().one())
        raw = dict(await ADD.first(uow.db, thing("same", **values)) or {})
        ref = await Prepared(sa.select(THINGS.c.ref).where(THINGS.c.id == sa.bindparam("id"))).scalar(uow.db, raw)
        await uow.rollback()
    assert raw | {"id": None} == by_sqlalchemy | {"id": None}
    assert raw["doc"] == values["doc"] and raw["tags"] == ["one", "two"] and ref == raw["ref"] == values["ref"]


async def test_null_and_json_null_as_through_sqlalchemy(engine):
    async with UnitOfWork(engine, source="/tests") as uow:
        by_sqlalchemy = dict((await uow.db.execute(_ADD, thing(None))).mappings().one())
        raw = dict(await ADD.first(uow.db, thing(None)) or {})
        stored = (await uow.db.execute(sa.select(THINGS.c.doc.is_(sa.null()), sa.func.jsonb_typeof(THINGS.c.doc),
                                                 THINGS.c.name.is_(None)))).all()
        await uow.rollback()
    assert raw | {"id": None} == by_sqlalchemy | {"id": None}
    assert stored == [(False, "null", True)] * 2  # None in a JSON column is JSON's null, as SQLAlchemy sends it


async def test_a_list_the_statement_carries_goes_with_it_and_one_given_per_call_as_an_array(engine):
    given = Prepared(sa.select(THINGS.c.name).where(THINGS.c.name.in_(sa.bindparam("names", expanding=True))))
    as_array = Prepared(sa.select(THINGS.c.name).where(THINGS.c.name == sa.any_(sa.bindparam("names",
                                                                                             type_=ARRAY(sa.Text))))
                        .order_by(THINGS.c.name))
    async with UnitOfWork(engine, source="/tests") as uow:
        for name in ("first", "outer", "other"):
            await ADD.first(uow.db, thing(name))
        assert [r["name"] for r in await NAMES.all(uow.db)] == ["first", "outer"]
        assert [r["name"] for r in await as_array.all(uow.db, {"names": ("other", "first")})] == ["first", "other"]
        with pytest.raises(ValueError, match="ANY"):
            await given.all(uow.db, {"names": ["first"]})


async def test_errors_are_sqlalchemys(engine):
    duplicate = thing("twice")
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.first(uow.db, duplicate)
        with pytest.raises(sa.exc.IntegrityError) as unique:
            await ADD.first(uow.db, duplicate)
    assert unique.value.orig.sqlstate == "23505"
    deadlock = Prepared(sa.text("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$"))
    async with UnitOfWork(engine, source="/tests") as uow:
        with pytest.raises(sa.exc.DBAPIError) as victim:
            await deadlock.execute(uow.db)
    assert victim.value.orig.sqlstate == "40P01" and not victim.value.connection_invalidated


async def test_a_lost_connection_invalidates_it_and_the_pool_recovers(database, engine):
    url, _ = database
    async with UnitOfWork(engine, source="/tests") as uow:
        pid = await Prepared(sa.select(sa.func.pg_backend_pid())).scalar(uow.db)
    other = await asyncpg.connect(url)
    try:
        assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await other.close()
    with pytest.raises(sa.exc.DBAPIError) as lost:
        async with UnitOfWork(engine, source="/tests") as uow:
            await NOW.scalar(uow.db)
    assert lost.value.connection_invalidated
    async with UnitOfWork(engine, source="/tests") as uow:
        assert await Prepared(sa.select(sa.func.pg_backend_pid())).scalar(uow.db) != pid


async def test_a_unit_cancelled_during_a_raw_statement_leaves_the_pool_usable(engine):
    async def slow() -> None:
        async with UnitOfWork(engine, source="/tests") as uow:
            await ADD.first(uow.db, thing("cancelled"))
            await Prepared(sa.select(sa.func.pg_sleep(5))).execute(uow.db)

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(3):
        async with UnitOfWork(engine, source="/tests") as uow:
            await NOW.scalar(uow.db)
    assert await names(engine) == []


async def test_locks_taken_together_are_the_locks_taken_one_by_one(engine):
    from studio_platform.db import advisory_xact_lock, advisory_xact_locks

    async with engine.connect() as holder:
        await advisory_xact_locks(holder, ["b:2", "a:1", "b:2"])  # any order, repeats allowed
        async with engine.connect() as waiter:
            waiting = asyncio.create_task(advisory_xact_lock(waiter, "a:1"))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "one lock of the set was not held"
            await holder.commit()  # the transaction ends: its locks go
            await asyncio.wait_for(waiting, 5)
            await advisory_xact_locks(waiter, ["b:2"])  # and the other is free too
            await waiter.rollback()


RENAME = Prepared(sa.update(THINGS).where(THINGS.c.id == sa.bindparam("w_id"), THINGS.c.name != "kept")
                  .values(name=sa.bindparam("n_name", type_=sa.Text)).returning(THINGS.c.id, THINGS.c.name))


async def test_a_statement_run_for_many_params_returns_every_runs_rows_in_the_units_transaction(engine):
    first, kept = thing("first"), thing("kept")
    async with UnitOfWork(engine, source="/tests") as uow:
        await ADD.all(uow.db, first)
        await ADD.all(uow.db, kept)
        assert await RENAME.many(uow.db, []) == []
        renamed = await RENAME.many(uow.db, [{"w_id": first["id"], "n_name": "outer"},
                                             {"w_id": kept["id"], "n_name": "inner"},  # its condition fails
                                             {"w_id": uuid.uuid4(), "n_name": "inner"}])  # no such row
        assert [(r["id"], r["name"]) for r in renamed] == [(first["id"], "outer")]
        await uow.rollback()
    assert await names(engine) == [], "the runs were inside the unit's transaction"


# The cached-plan trap `looked_up` avoids: a statement run on a connection while its table is small gets a plan
# for a small table, which PostgreSQL keeps as the table grows (until its next ANALYZE).
_given = given_rows("given", id=PG_UUID(as_uuid=True))
_JOINED = Prepared(sa.select(THINGS.c.name).select_from(_given.join(THINGS, THINGS.c.id == _given.c.id)))
_found = looked_up(sa.select(THINGS.c.name).where(THINGS.c.id == _given.c.id), "found")
_LOOKED_UP = Prepared(sa.select(_found.c.name).select_from(_given.join(_found, sa.true())))
_SCANS = sa.text("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'things'")


@pytest.mark.parametrize(("statement", "by_index"), [(_LOOKED_UP, True), (_JOINED, False)], ids=["looked up", "joined"])
async def test_rows_looked_up_by_key_are_found_by_index_after_the_table_grew(engine, statement, by_index):
    ids = [uuid.uuid4() for _ in range(10)]
    async with engine.connect() as conn:
        for _ in range(8):  # past the runs PostgreSQL plans one by one: the plan is cached for the empty table
            assert await statement.all(conn, {"id": ids}) == []
        await conn.commit()
        await conn.execute(sa.text("INSERT INTO things (id, name) SELECT gen_random_uuid(), 'filler' "
                                   "FROM generate_series(1, 20000)"))
        await conn.execute(sa.insert(THINGS).values(id=ids[3], name="wanted"))
        await conn.commit()
        before = (await conn.execute(_SCANS)).one()  # counts not yet reported (of earlier transactions too)
        assert [r["name"] for r in await statement.all(conn, {"id": ids})] == ["wanted"]
        after = (await conn.execute(_SCANS)).one()
        seq_scans, index_scans = after[0] - before[0], after[1] - before[1]
        assert (seq_scans == 0 and index_scans > 0) is by_index, (seq_scans, index_scans)
        await conn.rollback()
