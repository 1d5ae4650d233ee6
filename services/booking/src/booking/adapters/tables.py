"""Booking's tables. Every row carries its organization."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table

metadata = sa.MetaData()
outbox_table(metadata)
inbox_table(metadata)

TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)

class_copies = sa.Table(
    "class_copies", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("organization_id", ID, nullable=False),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("studio_id", ID, nullable=False),
    sa.Column("instructor_id", ID, nullable=False),
    sa.Column("starts_at", TS, nullable=False),
    sa.Column("ends_at", TS, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("registration_opens_at", TS),
    sa.Column("registration_closes_at", TS, nullable=False),
    sa.Column("late_cancel_cutoff", TS, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Seats as booking counts them; changed only by conditional updates, so never past capacity.
    sa.Column("held", sa.Integer, nullable=False, server_default="0"),  # seats of pending and confirmed bookings
    sa.Column("waitlisted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("seats_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("held >= 0 AND waitlisted >= 0", name="class_copies_seats_positive"),
    sa.Index("class_copies_org_start", "organization_id", "starts_at"),
)

bookings = sa.Table(
    "bookings", metadata,
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
    # One live booking per client per class, whatever races happen above.
    sa.Index("bookings_one_active", "organization_id", "class_id", "client_id", unique=True,
             postgresql_where=sa.text("status IN ('pending', 'confirmed')")),
    sa.Index("bookings_idempotency", "organization_id", "client_id", "idempotency_key", unique=True,
             postgresql_where=sa.text("idempotency_key IS NOT NULL")),
    sa.Index("bookings_client_time", "organization_id", "client_id", "class_starts_at"),
    sa.Index("bookings_class", "organization_id", "class_id", "status"),
    # The deadline sweep's: only pending rows, so it stays as small as the sagas in flight.
    sa.Index("bookings_pending_deadline", "deadline_at", postgresql_where=sa.text("status = 'pending'")),
)

waitlist_entries = sa.Table(
    "waitlist_entries", metadata,
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
    sa.Index("waitlist_one_place", "organization_id", "class_id", "client_id", unique=True,
             postgresql_where=sa.text("status IN ('waiting', 'promoting')")),
    sa.Index("waitlist_queue", "organization_id", "class_id", "seq", postgresql_where=sa.text("status = 'waiting'")),
    sa.Index("waitlist_client", "organization_id", "client_id"),
)

booking_policies = sa.Table(
    "booking_policies", metadata,
    sa.Column("organization_id", ID, primary_key=True),
    sa.Column("studio_id", ID, primary_key=True),
    sa.Column("late_cancel_policy", sa.Text, nullable=False),
    sa.Column("late_cancel_fee_minor", sa.Integer, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("waitlist_limit", sa.Integer, nullable=False),
    sa.Column("promotion_cutoff_minutes", sa.Integer, nullable=False),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
)

suspensions = sa.Table(
    "suspensions", metadata,
    sa.Column("organization_id", ID, primary_key=True),
    sa.Column("client_id", ID, primary_key=True),
    sa.Column("until", TS, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("suspended_by", ID, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

members = sa.Table(
    "members", metadata,
    sa.Column("organization_id", ID, primary_key=True),
    sa.Column("user_id", ID, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
)
