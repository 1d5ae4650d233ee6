"""Booking's copy of classes; outbox and inbox.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from studio_platform.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "class_copies",
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
    )
    op.create_index("class_copies_org_start", "class_copies", ["organization_id", "starts_at"])


def downgrade() -> None:
    op.drop_table("class_copies")
    drop_messaging_tables()
