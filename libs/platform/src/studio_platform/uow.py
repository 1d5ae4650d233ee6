"""The unit of work: one transaction per use case, and the only place that commits.

Events a handler publishes are written to the outbox in the same transaction
as the state they describe; the relay is woken by NOTIFY when it commits.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from studio_contracts import Event
from studio_platform import inbox
from studio_platform.outbox import NOTIFY_CHANNEL, OUTBOX


def schedule(event: Event, event_id: uuid.UUID, deliver_at: datetime) -> tuple[str, dict[str, str]]:
    """The holding subject and headers of a one-off JetStream message schedule."""
    # Schedules take whole seconds: round up, never fire early.
    whole = deliver_at.astimezone(UTC).replace(microsecond=0)
    at = (whole + timedelta(seconds=1) if whole < deliver_at else whole).strftime("%Y-%m-%dT%H:%M:%SZ")
    holder = f"{event.subject().split('.', 1)[0]}.schedules.{event_id}"
    return holder, {"Nats-Schedule": f"@at {at}", "Nats-Schedule-Target": event.subject()}


class UnitOfWork:
    """Subclass per service to add repositories in `_open` (they share `self.session`)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], *, source: str) -> None:
        self._session_factory = session_factory
        self.source = source
        self._events: list[dict] = []

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self._events = []
        self._open()
        return self

    def _open(self) -> None:
        """Build repositories on `self.session`."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()
        await self.session.close()

    def publish(self, event: Event, *, subject: str | None = None, deliver_at: datetime | None = None) -> uuid.UUID:
        """Queue an event to be written to the outbox when this unit commits.

        With `deliver_at`, JetStream holds it until then (a message schedule) and
        only then puts it on the event's subject.
        """
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        event_id = uuid.uuid4()
        nats_subject, headers = event.subject(), None
        if deliver_at is not None:
            nats_subject, headers = schedule(event, event_id, deliver_at)
        self._events.append(
            {
                "id": event_id,
                "organization_id": event.organization_id,
                "nats_subject": nats_subject,
                "headers": headers,
                "type": event.type,
                "source": self.source,
                "subject": subject,
                "time": datetime.now(UTC),
                "data": event.model_dump(mode="json"),
                "traceparent": carrier.get("traceparent"),
            }
        )
        return event_id

    async def claim_inbox(self, *, consumer: str, event_id: uuid.UUID, organization_id: uuid.UUID,
                          event_type: str) -> bool:
        return await inbox.claim(self.session, consumer=consumer, event_id=event_id,
                                 organization_id=organization_id, event_type=event_type)

    async def commit(self) -> None:
        if self._events:
            # One round trip: the rows, and the NOTIFY that wakes the relay once they are committed.
            written = sa.insert(OUTBOX).values(self._events).returning(OUTBOX.c.seq).cte("written")
            await self.session.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")).select_from(written).limit(1))
            self._events = []
        await self.session.commit()

    async def rollback(self) -> None:
        self._events = []
        await self.session.rollback()
