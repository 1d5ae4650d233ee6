"""Transactional outbox and its relay.

A state change and its events are written in one transaction (the `outbox`
table). The relay publishes committed rows to JetStream in order and then
deletes them: JetStream keeps the events, and a deleted row costs PostgreSQL
far less than a row rewritten to mark it sent. Crash after publishing but
before deleting: the row is published again with the same `Nats-Msg-Id` and
JetStream drops it (and the consumers' inbox drops anything older than the
duplicate window). Several replicas: one relay holds a PostgreSQL advisory lock
and works, on the session that holds it; the others wait for it.

A commit that wrote events rings the relay (`ring`): in the process whose relay
leads, directly; in another replica, by a core NATS message on the leader's
wake-up subject. A lost ring costs only time: the relay also polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib

import asyncpg
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from studio_platform.batchpublish import BatchPublisher
from studio_platform.db import plain_url
from studio_platform.envelope import OutgoingEvent
from studio_platform.inbox import STREAM_MAX_AGE_SECONDS

log = logging.getLogger(__name__)

PENDING_EVERY_SECONDS = 10.0
SWEEP_EVERY_SECONDS = 3600.0
# Deleted rows stay in the outbox's indexes until a vacuum, and every drain's read starts at the oldest of them:
# under load, autovacuum's turn (a minute apart at best) left tens of thousands to step over, which cost each
# drain's read and delete a few hundred µs. The relay vacuums the table itself once it has deleted this many.
VACUUM_EVERY_ROWS = 5_000

PUBLISHED = Counter("outbox_published_total", "Events published by the outbox relay")
PENDING = Gauge("outbox_pending", "Committed events not yet published")


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("id", PG_UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("organization_id", PG_UUID(as_uuid=True), nullable=False),
        sa.Column("nats_subject", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("traceparent", sa.Text),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Index("outbox_unpublished", "seq", postgresql_where=sa.text("published_at IS NULL")),
    )


_md = sa.MetaData()
OUTBOX = outbox_table(_md)
# The data as PostgreSQL's own JSON text, sent as it is rather than decoded and encoded again. Rows an earlier
# version marked sent (`published_at`) are left out; the sweep deletes them.
_UNPUBLISHED = (
    "SELECT seq, id, organization_id, nats_subject, type, source, subject, time, traceparent, data::text AS data "
    "FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1")
_FORGET = "DELETE FROM outbox WHERE seq = ANY($1::bigint[])"
# The relay's session need not wait for the disk: a deletion lost in a crash only sends its events again, which
# JetStream's duplicate window and the consumers' inboxes drop. Waiting for the flush held every drain up.
_COMMIT_WITHOUT_FLUSH = "SET synchronous_commit = off"


def _row_to_event(row: asyncpg.Record) -> OutgoingEvent:
    return OutgoingEvent(
        id=row["id"],
        type=row["type"],
        source=row["source"],
        nats_subject=row["nats_subject"],
        subject=row["subject"],
        time=row["time"],
        organization_id=row["organization_id"],
        data=row["data"].encode(),
        traceparent=row["traceparent"],
    )


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        nc: NATS,
        *,
        name: str,
        wake_subject: str = "",
        poll_seconds: float = 1.0,
        batch_size: int = 500,
        vacuum_every_rows: int = VACUUM_EVERY_ROWS,
    ) -> None:
        self._engine = engine
        self._publisher = BatchPublisher(nc)
        self._nc = nc
        self._wake_subject = wake_subject  # how replicas ring the leader; without, rings come from here only
        self._lock_key = zlib.crc32(f"outbox-relay:{name}".encode())
        self._poll = poll_seconds
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._leading = False
        self._ringing: set[asyncio.Task[None]] = set()
        self._vacuum_every = vacuum_every_rows
        self._forgotten = 0  # rows deleted since the relay last vacuumed the outbox

    def ring(self) -> None:
        """Events were just committed: publish them now rather than at the next poll."""
        if self._leading:
            self._wake.set()
        elif self._wake_subject:
            task = asyncio.get_running_loop().create_task(self._ring_leader())
            self._ringing.add(task)  # held until done: the loop keeps only a weak reference
            task.add_done_callback(self._ringing.discard)

    async def _ring_leader(self) -> None:
        try:
            await self._nc.publish(self._wake_subject)
        except Exception:  # NATS away: the leader's poll finds the events
            log.debug("could not ring the outbox relay's leader", exc_info=True)

    async def _on_ring(self, _msg: Msg) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled; reconnects and takes over leadership after failures."""
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(self._poll)

    async def _lead(self) -> None:
        conn = await self.connect()
        rings = None
        try:
            # Another replica leads; wait for its session (and so its lock) to end.
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):  # noqa: ASYNC110
                await asyncio.sleep(self._poll)
            rings = await self._nc.subscribe(self._wake_subject, cb=self._on_ring) if self._wake_subject else None
            self._leading = True
            log.info("outbox relay leading")
            measured = swept = time.monotonic()
            while not conn.is_closed():
                self._wake.clear()
                # Again only while batches come full: a commit after this drain's read rings the relay anyway
                # (setting the flag just cleared), so an empty read to make sure is never needed.
                while await self.drain_once(conn) == self._batch:
                    pass
                if time.monotonic() - measured >= PENDING_EVERY_SECONDS:
                    PENDING.set(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                    measured = time.monotonic()
                if time.monotonic() - swept >= SWEEP_EVERY_SECONDS:
                    await self._sweep(conn)
                    swept = time.monotonic()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
                except TimeoutError:
                    pass
        finally:
            self._leading = False
            if rings is not None:
                with contextlib.suppress(Exception):
                    await rings.unsubscribe()
            await conn.close()

    async def connect(self) -> asyncpg.Connection:
        """A session of the relay's own, its commits not waiting for the disk."""
        conn = await asyncpg.connect(plain_url(self._engine.url.render_as_string(hide_password=False)))
        await conn.execute(_COMMIT_WITHOUT_FLUSH)
        return conn

    async def drain_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of unpublished events in the order they were written, then delete them; returns how
        many. Only the leader drains (its lock), so the read takes no row locks and each statement commits alone.

        The batch is published in order, its acks awaited together. Should one be refused or not come,
        the batch is sent again, so a consumer may see an event after a later one. Consumers keep copies by
        version for that reason.
        """
        rows = await conn.fetch(_UNPUBLISHED, self._batch)
        if not rows:
            return 0
        events = [_row_to_event(r) for r in rows]
        await self._publisher.publish([(e.nats_subject, e.data, e.headers()) for e in events], timeout=10)
        await self.forget(conn, [r["seq"] for r in rows])
        PUBLISHED.inc(len(rows))
        return len(rows)

    async def forget(self, conn: asyncpg.Connection, seqs: list[int]) -> None:
        """The rows are published: JetStream holds their events now. Every `vacuum_every_rows` deleted, the
        relay vacuums the table."""
        await conn.execute(_FORGET, seqs)
        self._forgotten += len(seqs)
        if self._forgotten >= self._vacuum_every:
            await self._vacuum(conn)

    async def _vacuum(self, conn: asyncpg.Connection) -> None:
        """Clear the deleted rows out of the outbox's pages and indexes (see VACUUM_EVERY_ROWS). Without the
        table's ownership PostgreSQL skips it with a warning; autovacuum's turn still comes."""
        self._forgotten = 0
        await conn.execute("VACUUM (SKIP_LOCKED) outbox")

    @staticmethod
    async def _sweep(conn: asyncpg.Connection) -> None:
        """Forget handled ids once the stream can no longer redeliver them, and rows an earlier version kept."""
        await conn.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")
        await conn.execute("DELETE FROM inbox WHERE handled_at < now() - make_interval(secs => $1)",
                           float(STREAM_MAX_AGE_SECONDS))
