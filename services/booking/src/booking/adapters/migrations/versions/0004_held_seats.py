"""A class's seats counted as held (by a pending or a confirmed booking), not as confirmed and pending apart.

A confirmation then leaves the class's row alone: the saga's batches no longer lock the rows that every
booking of those classes needs. How many are confirmed is counted from the bookings when it is shown.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("class_copies", sa.Column("held", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE class_copies SET held = confirmed + pending")
    op.drop_constraint("class_copies_seats_positive", "class_copies")
    op.drop_column("class_copies", "confirmed")
    op.drop_column("class_copies", "pending")
    op.create_check_constraint("class_copies_seats_positive", "class_copies", "held >= 0 AND waitlisted >= 0")


def downgrade() -> None:
    for column in ("confirmed", "pending"):
        op.add_column("class_copies", sa.Column(column, sa.Integer, nullable=False, server_default="0"))
    op.execute("""UPDATE class_copies c SET
                      confirmed = (SELECT count(*) FROM bookings b WHERE b.organization_id = c.organization_id
                                   AND b.class_id = c.id AND b.status = 'confirmed'),
                      pending = (SELECT count(*) FROM bookings b WHERE b.organization_id = c.organization_id
                                 AND b.class_id = c.id AND b.status = 'pending')""")
    op.drop_constraint("class_copies_seats_positive", "class_copies")
    op.drop_column("class_copies", "held")
    op.create_check_constraint("class_copies_seats_positive", "class_copies",
                               "confirmed >= 0 AND pending >= 0 AND waitlisted >= 0")
