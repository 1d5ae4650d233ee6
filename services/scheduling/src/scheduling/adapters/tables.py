"""Scheduling's tables. Every row carries its organization."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table

metadata = sa.MetaData()
outbox_table(metadata)
inbox_table(metadata)

TS = sa.DateTime(timezone=True)

class_types = sa.Table(
    "class_types", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("organization_id", UUID(as_uuid=True), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("colour", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("default_capacity", sa.Integer, nullable=False),
    sa.Column("default_duration_minutes", sa.Integer, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("organization_id", "name", name="class_types_name_unique"),
)

class_sessions = sa.Table(
    "class_sessions", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("organization_id", UUID(as_uuid=True), nullable=False),
    sa.Column("class_type_id", UUID(as_uuid=True), sa.ForeignKey("class_types.id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("studio_id", UUID(as_uuid=True), nullable=False),
    sa.Column("instructor_id", UUID(as_uuid=True), nullable=False),
    sa.Column("room", sa.Text),
    sa.Column("starts_at", TS, nullable=False),
    sa.Column("ends_at", TS, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("registration_opens_at", TS),
    sa.Column("registration_closes_at", TS, nullable=False),
    sa.Column("late_cancel_cutoff", TS, nullable=False),
    sa.Column("instructor_notes", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("booked", sa.Integer, nullable=False, server_default="0"),
    sa.Column("waitlisted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("seats_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("ends_at > starts_at", name="class_sessions_ends_after_start"),
    sa.CheckConstraint("capacity > 0", name="class_sessions_capacity_positive"),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name="class_sessions_status"),
    sa.Index("class_sessions_browse", "organization_id", "starts_at", "id"),
    sa.Index("class_sessions_instructor", "organization_id", "instructor_id", "starts_at"),
)

studios = sa.Table(
    "studios", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("organization_id", UUID(as_uuid=True), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
)

members = sa.Table(
    "members", metadata,
    sa.Column("organization_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("studio_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}"),
)
