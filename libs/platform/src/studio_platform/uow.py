"""The unit of work: one transaction per use case, and the only place that commits.

Events a handler publishes are written to the outbox in the same transaction
as the state they describe; once it commits, the relay is rung (`on_events`)
so it publishes them at once rather than at its next poll.

No NOTIFY: PostgreSQL serializes every committing transaction that sent one
(a lock over the whole cluster, held through the commit's flush to disk), which
under load made commits queue one behind another.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncEngine

from studio_contracts import Event
from studio_platform import inbox
from studio_platform.db import WithCommit, commit

log = logging.getLogger(__name__)

# The rows go as one JSON array, so this is one statement whatever their number. The ordinality keeps their
# order in `seq`. Sent with the commit (D18).
_WRITE_OUTBOX = WithCommit("studio_outbox_write", "jsonb", """
INSERT INTO outbox (id, organization_id, nats_subject, type, source, subject, time, data, traceparent)
SELECT r.id, r.organization_id, r.nats_subject, r.type, r.source, r.subject, r.time, r.data, r.traceparent
FROM jsonb_array_elements($1) WITH ORDINALITY AS e(event, n),
     jsonb_populate_record(NULL::outbox, e.event) AS r
ORDER BY e.n
""")


@functools.lru_cache(maxsize=16)
def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, its connections in autocommit: no BEGIN and no ROLLBACK round trips."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class UnitOfWork:
    """Subclass per service to add repositories in `_open` (they share `self.db`).

    `self.db` is a Core connection, not an ORM session: the repositories map rows to domain objects
    themselves, and a session's bookkeeping around every statement cost more than the statement.
    """

    def __init__(self, engine: AsyncEngine, *, source: str, on_events: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self.source = source
        self._on_events = on_events  # the relay's bell, rung once a commit has written events
        self._events: list[dict] = []
        self._after: list[Callable[[], None]] = []
        self._reads_only = False

    def reading(self) -> Self:
        """This unit, for one read in a statement: no transaction around it, so two round trips fewer.

        `async with uow.reading():` suits a read of one statement (or several that need not agree);
        nothing in it may write or commit.
        """
        self._reads_only = True
        return self

    async def __aenter__(self) -> Self:
        self.db = await (_autocommit(self._engine) if self._reads_only else self._engine).connect()
        self._events, self._after = [], []
        self._open()
        return self

    def _open(self) -> None:
        """Build repositories on `self.db`."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._reads_only = False
        await self.rollback()
        await self.db.close()

    def publish(self, event: Event, *, subject: str | None = None) -> uuid.UUID:
        """Queue an event to be written to the outbox when this unit commits."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        event_id = uuid.uuid4()
        self._events.append(
            {
                "id": str(event_id),
                "organization_id": str(event.organization_id),
                "nats_subject": event.subject(),
                "type": event.type,
                "source": self.source,
                "subject": subject,
                "time": datetime.now(UTC).isoformat(),
                "data": event.model_dump(mode="json"),
                "traceparent": carrier.get("traceparent"),
            }
        )
        return event_id

    async def claim_inbox(self, consumer: str, events: Sequence[inbox.Received]) -> set[uuid.UUID]:
        """Record `events` as handled by `consumer`; returns the ids it had not handled before."""
        return await inbox.claim(self.db, consumer=consumer, events=events)

    @contextlib.asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of this unit that may fail on its own: if it raises, its writes and the events and
        after-commit calls it queued are undone, and what came before it stays, to be committed with the rest."""
        events, after = len(self._events), len(self._after)
        try:
            async with self.db.begin_nested():
                yield
        except BaseException:
            del self._events[events:], self._after[after:]
            raise

    def after_commit(self, call: Callable[[], None]) -> None:
        """Call `call` once this unit has committed (and only if it commits), in the order queued."""
        self._after.append(call)

    async def commit(self) -> None:
        events, after = self._events, self._after
        self._events, self._after = [], []
        if events:
            await _WRITE_OUTBOX.commit(self.db, json.dumps(events))
            if self._on_events is not None:
                after = [*after, self._on_events]
        else:
            await commit(self.db)
        for call in after:
            try:
                call()
            except Exception:  # the unit has committed: its caller must not hear otherwise
                log.exception("a call after a commit failed; the commit stands")

    async def rollback(self) -> None:
        self._events, self._after = [], []
        if self.db.in_transaction():  # else nothing to undo (SQLAlchemy's rollback would still take a greenlet)
            await self.db.rollback()
