"""Inbox: the ids of events a consumer has handled, written with their effects.

A redelivered event finds its id already there and is acknowledged without
being handled again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from studio_platform.db import Prepared

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


# Built once: the ids of a whole batch go as arrays, so one statement (compiled once) claims them all.
_CLAIM = Prepared(sa.text("""
INSERT INTO inbox (consumer, event_id, organization_id, event_type)
SELECT :consumer, e.id, e.organization_id, e.type
FROM unnest(:ids, :organizations, :types) AS e(id, organization_id, type)
ON CONFLICT DO NOTHING
RETURNING event_id
""").bindparams(sa.bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))),
                sa.bindparam("organizations", type_=ARRAY(PG_UUID(as_uuid=True))),
                sa.bindparam("types", type_=ARRAY(sa.Text))))


@dataclass(frozen=True)
class Received:
    """What the inbox records of an event: its id, organization and type."""

    id: uuid.UUID
    organization_id: uuid.UUID
    type: str


async def claim(db: AsyncConnection, *, consumer: str, events: Sequence[Received]) -> set[uuid.UUID]:
    """The ids among `events` this consumer has not handled before (in this transaction's view)."""
    if not events:  # a batch of events that keep no inbox (snapshots by version): no round trip
        return set()
    rows = await _CLAIM.all(db, {"consumer": consumer, "ids": [e.id for e in events],
                                 "organizations": [e.organization_id for e in events],
                                 "types": [e.type for e in events]})
    return {row["event_id"] for row in rows}
