"""Pending bookings by deadline, for the sweep that fails sagas billing never answered.

Revision ID: 0003
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX bookings_pending_deadline ON bookings (deadline_at) WHERE status = 'pending'")


def downgrade() -> None:
    op.drop_index("bookings_pending_deadline", table_name="bookings")
