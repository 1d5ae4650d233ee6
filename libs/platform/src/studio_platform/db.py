"""Async SQLAlchemy engines on asyncpg, and the hottest statements run on asyncpg itself."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def asyncpg_url(url: str) -> str:
    """Accept the plain `postgresql://` URLs operators write and use the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def plain_url(url: str) -> str:
    """The same URL for asyncpg itself (no SQLAlchemy driver suffix)."""
    return "postgresql://" + asyncpg_url(url)[len("postgresql+asyncpg://"):]


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip on every checkout. A connection the server dropped fails
    # its one request (answered 503, see problems.py) and the pool then replaces every older one.
    return create_async_engine(asyncpg_url(url), pool_size=pool_size, max_overflow=max_overflow)


# Hot statements are built once, at import, with their values as parameters: building a statement and
# its cache key on every call cost SQLAlchemy more than running it.
def matching(table: sa.Table, *columns: str, prefix: str = "w_") -> sa.ColumnElement[bool]:
    """`column = :w_column` for each column (the prefix keeps clear of an UPDATE's own SET parameters, and
    of another table's in the same statement)."""
    return sa.and_(*(table.c[name] == sa.bindparam(f"{prefix}{name}") for name in columns))


def match(prefix: str = "w_", **values: Any) -> dict[str, Any]:
    """The parameters of `matching`."""
    return {f"{prefix}{name}": value for name, value in values.items()}


def given_rows(name: str, **columns: Any) -> sa.TableValuedAlias:
    """A table `name` of rows given as one array per column, each array the parameter named as its column
    (`unnest(:a, :b) AS name(a, b)`): any number of rows in one statement, compiled once. `columns`: each
    column's SQL type."""
    return (sa.func.unnest(*(sa.bindparam(column, type_=ARRAY(kind)) for column, kind in columns.items()))
            .table_valued(*columns).render_derived(name=name))


def looked_up(query: sa.Select[Any], name: str) -> sa.Lateral:
    """`query`, which names the columns of `given_rows`, as a subquery run once for each given row (LATERAL, with
    OFFSET 0 so that PostgreSQL does not flatten it into a join): each given row finds its rows by key, by index.

    Joined to the table directly, the plan depends on the table's size when the plan is cached (a statement's
    sixth run on a connection), and it stays until the table's next ANALYZE: one cached while the table was
    small hashed a scan of the whole table, and kept on doing so as the table grew (2 ms a batch at 16,000
    rows, against 0.1 by key)."""
    return query.offset(sa.literal_column("0")).lateral(name)


def xact_lock(key: sa.ColumnElement[str] | None = None) -> sa.ColumnElement[Any]:
    """`pg_advisory_xact_lock` on the text `key` (the parameter `:key` by default): held until the transaction
    ends, touching no row."""
    key = sa.bindparam("key", type_=sa.Text) if key is None else key
    return sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0))


# A row as asyncpg returns it (or a dict where a column's type converts what asyncpg returns): read by name.
Row = Mapping[str, Any]


class Prepared:
    """A hot statement built once at import, run on the asyncpg connection under an `AsyncConnection`.

    SQLAlchemy's execution layer around a statement (its caches, parameter and result processing, greenlet
    switches) cost the services more CPU than asyncpg running it. So the statement is compiled once, as
    SQLAlchemy compiles it for asyncpg, and each call does only what SQLAlchemy would do that still matters:
    its types' bind processors (JSON goes to asyncpg as text SQLAlchemy serialized), the values the statement
    carries itself, the result processors of the columns that have one (asyncpg's own decoding is what
    SQLAlchemy returns for the rest: UUID, timestamptz, int, text, JSON), its transaction and its errors.

    The values a statement carries (`status == "scheduled"`, `in_(CONSTANT_TUPLE)`, a LIMIT) are fixed when
    it is compiled: a list that changes from call to call goes as one array (`= ANY(:ids)`).
    """

    def __init__(self, statement: sa.Executable) -> None:
        self._statement = statement
        self._compiled: _Compiled | None = None

    def _for(self, db: AsyncConnection) -> _Compiled:
        compiled = self._compiled
        if compiled is None or compiled.dialect is not db.dialect:  # each engine has its dialect (and settings)
            compiled = self._compiled = _Compiled(self._statement, db.dialect)
        return compiled

    async def all(self, db: AsyncConnection, params: Mapping[str, Any] | None = None) -> list[Row]:
        compiled = self._for(db)
        return compiled.rows(await _on_asyncpg(db, "fetch", compiled.sql, compiled.arguments(params or {})))

    async def first(self, db: AsyncConnection, params: Mapping[str, Any] | None = None) -> Row | None:
        """The first row, or None. Every row is still fetched (and locked, by a FOR UPDATE), as SQLAlchemy does."""
        rows = await self.all(db, params)
        return rows[0] if rows else None

    async def scalar(self, db: AsyncConnection, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        compiled = self._for(db)
        return compiled.value(await _on_asyncpg(db, "fetch", compiled.sql, compiled.arguments(params or {})))

    async def many(self, db: AsyncConnection, params: Iterable[Mapping[str, Any]]) -> list[Row]:
        """The statement run once for each of `params`, sent together (one round trip), and every run's rows.

        For a change to a batch of rows found by key: each run's plan is the key's, whatever the table's size
        (an `UPDATE ... FROM given_rows(...)`'s join is planned as `looked_up` explains)."""
        compiled = self._for(db)
        arguments = [compiled.arguments(p) for p in params]
        return compiled.rows(await _on_asyncpg(db, "fetchmany", compiled.sql, [arguments])) if arguments else []

    async def execute(self, db: AsyncConnection, params: Mapping[str, Any] | None = None) -> str:
        """Run it for its effect; returns PostgreSQL's status (`UPDATE 1`)."""
        compiled = self._for(db)
        return await _on_asyncpg(db, "execute", compiled.sql, compiled.arguments(params or {}))


class _Compiled:
    """A statement as SQLAlchemy compiles it for asyncpg, and what running it takes besides its SQL."""

    def __init__(self, statement: sa.Executable, dialect: Dialect) -> None:
        self.dialect = dialect
        compiled = statement.compile(dialect=dialect)
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        given = [name for name, bind in binds.items() if bind.required]
        for name, bind in binds.items():
            if (bind.required and (bind.expanding or bind.literal_execute)) or bind.callable is not None:
                raise ValueError(f"{name}: its value would be fixed when compiled; a list given per call goes as one "
                                 f"array (= ANY(:{name}))")
        # The statement with the lists it carries itself expanded (`IN ($7, $8)`), and its arguments in order.
        state = compiled.construct_expanded_state(dict.fromkeys(given))
        self.sql = state.statement
        origin = {name: key for key, names in state.parameter_expansion.items() for name in names}

        def processor(name: str) -> Callable[[Any], Any] | None:
            return binds[origin.get(name, name)].type.dialect_impl(dialect).bind_processor(dialect)

        # Each argument: (name, processor) of a parameter given per call, or (None, value) of one the statement
        # carries, processed here once.
        self._arguments: list[tuple[str | None, Any]] = []
        for name in state.positiontup or ():
            process = processor(name)
            if name in given:
                self._arguments.append((name, process))
            else:
                value = state.parameters[name]
                self._arguments.append((None, value if process is None else process(value)))
        columns = getattr(statement, "exported_columns", ())  # none for a text() or a DML without RETURNING
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self._results = results if any(results) else None

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        # (None, value): the statement's own; (name, None): the parameter as given; (name, processor): through it.
        return [value if name is None else params[name] if value is None else value(params[name])
                for name, value in self._arguments]

    def rows(self, records: list[Any]) -> list[Row]:
        results = self._results
        if results is None:
            return records
        return [{name: value if result is None else result(value)
                 for (name, value), result in zip(record.items(), results, strict=True)} for record in records]

    def value(self, records: list[Any]) -> Any:
        if not records:
            return None
        result = self._results and self._results[0]
        return records[0][0] if result is None else result(records[0][0])


async def _on_asyncpg(db: AsyncConnection, method: str, sql: str, args: list[Any]) -> Any:
    """asyncpg's `method` ("fetch", "execute") run on the connection under `db` as SQLAlchemy runs a statement
    of its own: inside its transaction, and failing with the exceptions SQLAlchemy raises.

    SQLAlchemy's asyncpg adapter begins its transaction lazily, before the first statement that goes through
    it; a statement sent to asyncpg before that would run on its own, committed at once, out of reach of a
    rollback or a savepoint. The adapter also turns asyncpg's errors into SQLAlchemy's, and the connection
    tells its pool of a lost connection. Those are private to SQLAlchemy (2.1.9: `_transaction`,
    `_start_transaction`, `_call_and_discard` and `_handle_exception` of `AsyncAdapt_asyncpg_connection` in
    dialects/postgresql/asyncpg.py, and `Connection._handle_dbapi_exception`): this module is the one place
    that uses them (here and in `commit`), and libs/platform's test_prepared.py fails if an upgrade changes
    them.
    """
    sync = _connected(db) or await _reconnected(db)
    pooled = sync.connection
    adapter: Any = pooled.dbapi_connection
    if not adapter.autocommit and not sync.in_transaction():
        # SQLAlchemy's own record of the transaction, so that its commit and rollback end ours. Begun on the
        # sync connection itself: that awaits nothing (the adapter begins below), so needs no greenlet.
        sync.begin()
    try:
        if adapter._transaction is None:
            await adapter._start_transaction()  # BEGIN, unless in autocommit
        return await getattr(pooled.driver_connection, method)(sql, *args)
    except Exception as error:
        await db.run_sync(_raise_as_sqlalchemy, adapter, error, sql, args)
        raise  # asyncpg's own error, should SQLAlchemy's handling ever not raise


def _connected(db: AsyncConnection) -> sa.Connection | None:
    """The sync connection under `db`, if it holds a live pooled connection (else getting one awaits)."""
    sync = db.sync_connection
    return sync if sync is not None and not sync.invalidated else None


async def _reconnected(db: AsyncConnection) -> sa.Connection:
    await db.get_raw_connection()  # through a greenlet: the pool may have to connect again
    assert db.sync_connection is not None
    return db.sync_connection


async def commit(db: AsyncConnection) -> None:
    """`await db.commit()` without the greenlet SQLAlchemy runs it in (with the begin's, 45 µs of the 270 a unit
    of work of one statement cost): the transaction is committed on asyncpg itself, then SQLAlchemy's record of
    it, which then awaits nothing (the adapter has no transaction left to commit). A failed commit raises as
    SQLAlchemy's would."""
    sync = _connected(db)
    if sync is None:
        await db.commit()
        return
    adapter: Any = sync.connection.dbapi_connection
    if (transaction := adapter._transaction) is not None:
        try:
            await adapter._call_and_discard(transaction.commit)
        except Exception as error:
            await db.run_sync(_raise_as_sqlalchemy, adapter, error, "COMMIT", [])
            raise
    sync.commit()


class WithCommit:
    """A statement of one text argument sent with the transaction's COMMIT, as one simple query: a round trip
    fewer than the statement and then the commit, each of which costs both sides a wake-up of the other
    (about 50 µs of the service's CPU and 25 of PostgreSQL's on the benchmark's machine, D18).

    A simple query takes no parameters, so the statement is prepared on the server under `name` once per
    connection (`PREPARE`, which outlives a rollback) and run as `EXECUTE name($q$argument$q$)`, the argument
    dollar-quoted: taken as written whatever it holds, with no escaping to get wrong. If the statement fails,
    PostgreSQL runs nothing after it and the transaction is left failed, for the unit's rollback; if the
    COMMIT fails, it raises as `commit`'s does.
    """

    def __init__(self, name: str, argument_type: str, sql: str) -> None:
        self._name = name
        self._prepare = f"PREPARE {name}({argument_type}) AS {sql}"

    async def commit(self, db: AsyncConnection, argument: str) -> None:
        sync = _connected(db) or await _reconnected(db)
        prepared = sync.connection.info  # the pooled connection's: emptied when it connects again
        if self._name not in prepared:
            await _on_asyncpg(db, "execute", self._prepare, [])
            prepared[self._name] = True
        try:
            await _on_asyncpg(db, "execute", f"EXECUTE {self._name}({dollar_quoted(argument)}); COMMIT", [])
        except sa.exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == "26000":  # gone from the session (a DEALLOCATE)
                prepared.pop(self._name, None)  # prepared again by the next unit
            raise
        _committed(sync)


def dollar_quoted(text: str) -> str:
    """`text` as a dollar-quoted SQL literal, with a tag that does not occur in it (nor ends at its end)."""
    tag = "$q$"
    while (text + tag).find(tag) != len(text):
        tag = f"$q{secrets.token_hex(4)}$"
    return f"{tag}{text}{tag}"


def _committed(sync: sa.Connection) -> None:
    """Record the transaction committed outside asyncpg's `Transaction.commit`, as that commit would: the
    asyncpg connection's top transaction cleared (else its next BEGIN would be taken for a savepoint's), then
    the adapter's and SQLAlchemy's records, as `commit` ends them (asyncpg 0.32's `_top_xact`)."""
    adapter: Any = sync.connection.dbapi_connection
    if (transaction := adapter._transaction) is not None:
        if adapter._connection._top_xact is transaction:
            adapter._connection._top_xact = None
        adapter._transaction = None
    sync.commit()


def _raise_as_sqlalchemy(conn: sa.Connection, adapter: Any, error: Exception, sql: str, args: list[Any]) -> None:
    try:
        adapter._handle_exception(error)  # raises asyncpg's error as the adapter's DB-API error
    except Exception as dbapi_error:
        conn._handle_dbapi_exception(dbapi_error, sql, args, None, None)  # raises it as SQLAlchemy's


_XACT_LOCK = Prepared(sa.select(xact_lock()))
_keys = given_rows("lock", key=sa.Text)
# A scan of `unnest` takes the keys in the order they are given.
_XACT_LOCKS = Prepared(sa.select(xact_lock(_keys.c.key)).select_from(_keys))


async def advisory_xact_lock(db: AsyncConnection, key: str) -> None:
    """A lock on `key` until the transaction ends, touching no row."""
    await _XACT_LOCK.execute(db, {"key": key})


async def advisory_xact_locks(db: AsyncConnection, keys: Iterable[str]) -> None:
    """`advisory_xact_lock` on each of `keys`, in one statement and always in the same (sorted) order, so two
    transactions locking overlapping sets never hold one lock each while waiting for the other's."""
    await _XACT_LOCKS.execute(db, {"key": sorted(set(keys))})
