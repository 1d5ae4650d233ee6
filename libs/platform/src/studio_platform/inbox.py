"""Inbox: the ids of events a consumer has handled, written with their effects.

A redelivered event finds its id already there and is acknowledged without
being handled again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

# Streams keep events this long; an inbox must remember an id at least as long.
STREAM_MAX_AGE_SECONDS = 30 * 24 * 3600


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
        sa.Column("organization_id", PG_UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


INBOX = inbox_table(sa.MetaData())


async def claim(session: AsyncSession, *, consumer: str, event_id, organization_id, event_type: str) -> bool:
    """True when this consumer has not handled the event before (in this transaction's view)."""
    result = await session.execute(
        insert(INBOX)
        .values(consumer=consumer, event_id=event_id, organization_id=organization_id, event_type=event_type)
        .on_conflict_do_nothing()
        .returning(INBOX.c.event_id)
    )
    return result.first() is not None
