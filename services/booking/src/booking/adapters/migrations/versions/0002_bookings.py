"""Bookings, waitlists, seat counts, studio booking policies, suspensions, copies of members.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)


def upgrade() -> None:
    op.add_column("class_copies", sa.Column("name", sa.Text, nullable=False, server_default=""))
    for column in ("confirmed", "pending", "waitlisted"):
        op.add_column("class_copies", sa.Column(column, sa.Integer, nullable=False, server_default="0"))
    op.add_column("class_copies", sa.Column("seats_version", sa.BigInteger, nullable=False, server_default="0"))
    op.create_check_constraint("class_copies_seats_positive", "class_copies",
                               "confirmed >= 0 AND pending >= 0 AND waitlisted >= 0")
    op.create_table(
        "bookings",
        sa.Column("id", ID, primary_key=True),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("class_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("studio_id", ID, nullable=False),
        sa.Column("instructor_id", ID, nullable=False),
        sa.Column("class_starts_at", TS, nullable=False),
        sa.Column("class_ends_at", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("waitlist_entry_id", ID),
        sa.Column("package_id", ID),
        sa.Column("reason", sa.Text),
        sa.Column("confirmed_at", TS),
        sa.Column("cancelled_at", TS),
        sa.Column("cancelled_by", ID),
        sa.Column("credit_outcome", sa.Text),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'failed', 'cancelled', 'late_cancelled')",
                           name="bookings_status"),
        sa.UniqueConstraint("organization_id", "reference", name="bookings_reference_unique"),
    )
    op.create_index("bookings_one_active", "bookings", ["organization_id", "class_id", "client_id"], unique=True,
                    postgresql_where=sa.text("status IN ('pending', 'confirmed')"))
    op.create_index("bookings_idempotency", "bookings", ["organization_id", "client_id", "idempotency_key"],
                    unique=True, postgresql_where=sa.text("idempotency_key IS NOT NULL"))
    op.create_index("bookings_client_time", "bookings", ["organization_id", "client_id", "class_starts_at"])
    op.create_index("bookings_class", "bookings", ["organization_id", "class_id", "status"])
    op.create_table(
        "waitlist_entries",
        sa.Column("id", ID, primary_key=True),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("class_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("joined_at", TS, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('waiting', 'promoting', 'promoted', 'left', 'removed', 'closed', 'booked')",
                           name="waitlist_entries_status"),
    )
    op.create_index("waitlist_one_place", "waitlist_entries", ["organization_id", "class_id", "client_id"],
                    unique=True, postgresql_where=sa.text("status IN ('waiting', 'promoting')"))
    op.create_index("waitlist_queue", "waitlist_entries", ["organization_id", "class_id", "seq"],
                    postgresql_where=sa.text("status = 'waiting'"))
    op.create_index("waitlist_client", "waitlist_entries", ["organization_id", "client_id"])
    op.create_table(
        "booking_policies",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("studio_id", ID, primary_key=True),
        sa.Column("late_cancel_policy", sa.Text, nullable=False),
        sa.Column("late_cancel_fee_minor", sa.Integer, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("waitlist_limit", sa.Integer, nullable=False),
        sa.Column("promotion_cutoff_minutes", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "suspensions",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("client_id", ID, primary_key=True),
        sa.Column("until", TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("suspended_by", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "members",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("members", "suspensions", "booking_policies", "waitlist_entries", "bookings"):
        op.drop_table(table)
    op.drop_constraint("class_copies_seats_positive", "class_copies")
    for column in ("seats_version", "waitlisted", "pending", "confirmed", "name"):
        op.drop_column("class_copies", column)
