"""Booking's tables. Every row carries its organization."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table

metadata = sa.MetaData()
outbox_table(metadata)
inbox_table(metadata)

TS = sa.DateTime(timezone=True)

class_copies = sa.Table(
    "class_copies", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("organization_id", UUID(as_uuid=True), nullable=False),
    sa.Column("studio_id", UUID(as_uuid=True), nullable=False),
    sa.Column("instructor_id", UUID(as_uuid=True), nullable=False),
    sa.Column("starts_at", TS, nullable=False),
    sa.Column("ends_at", TS, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("registration_opens_at", TS),
    sa.Column("registration_closes_at", TS, nullable=False),
    sa.Column("late_cancel_cutoff", TS, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Index("class_copies_org_start", "organization_id", "starts_at"),
)
