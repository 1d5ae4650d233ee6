"""Products, client packages, credit lots, the credit ledger and reservations.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("price_minor", sa.Integer, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("credits", sa.Integer),
        sa.Column("validity_days", sa.Integer),
        sa.Column("validity_from", sa.Text),
        sa.Column("duration_days", sa.Integer),
        sa.Column("credits_per_week", sa.Integer),
        sa.Column("weekly_rollover", sa.Boolean, nullable=False),
        sa.Column("features", ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("organization_id", "name", name="products_name_unique"),
        sa.CheckConstraint("price_minor >= 0 AND currency ~ '^[A-Z]{3}$'", name="products_price"),
        sa.CheckConstraint(
            "(kind = 'class_pack' AND credits > 0 AND validity_days > 0"
            " AND validity_from IN ('purchase', 'first_use')"
            " AND duration_days IS NULL AND credits_per_week IS NULL AND NOT weekly_rollover)"
            " OR (kind = 'membership' AND duration_days > 0 AND (credits_per_week IS NULL OR credits_per_week > 0)"
            " AND credits IS NULL AND validity_days IS NULL AND validity_from IS NULL)",
            name="products_terms"),
    )
    op.create_table(
        "packages",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("pack_credits", sa.Integer),
        sa.Column("validity_days", sa.Integer),
        sa.Column("validity_from", sa.Text),
        sa.Column("credits_per_week", sa.Integer),
        sa.Column("weekly_rollover", sa.Boolean, nullable=False),
        sa.Column("next_allowance_at", TS),
        sa.Column("note", sa.Text),
        sa.Column("issued_by", ID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["organization_id", "product_id"], ["products.organization_id", "products.id"],
                                name="packages_product"),
        sa.CheckConstraint("status IN ('active', 'expired', 'cancelled')", name="packages_status"),
        sa.CheckConstraint("expires_at IS NULL OR expires_at > starts_at", name="packages_ends_after_start"),
        sa.CheckConstraint(
            "(kind = 'class_pack' AND pack_credits > 0 AND validity_days > 0"
            " AND (validity_from = 'purchase' AND expires_at IS NOT NULL OR validity_from = 'first_use')"
            " AND next_allowance_at IS NULL)"
            " OR (kind = 'membership' AND expires_at IS NOT NULL"
            " AND (credits_per_week IS NULL OR credits_per_week > 0)"
            " AND (next_allowance_at IS NULL OR next_allowance_at < expires_at))",
            name="packages_terms"),
    )
    op.create_index("packages_client", "packages", ["organization_id", "client_id", "starts_at"])
    op.create_index("packages_allowance_due", "packages", ["next_allowance_at"],
                    postgresql_where=sa.text("status = 'active' AND next_allowance_at IS NOT NULL"))
    op.create_index("packages_ending", "packages", ["expires_at"], postgresql_where=sa.text("status = 'active'"))

    op.create_table(
        "credit_lots",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("id", ID, primary_key=True),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("package_id", ID, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("unlimited", sa.Boolean, nullable=False),
        sa.Column("granted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("adjusted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("available", sa.Integer, nullable=False, server_default="0"),
        sa.Column("held", sa.Integer, nullable=False, server_default="0"),
        sa.Column("spent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expired", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["organization_id", "package_id"], ["packages.organization_id", "packages.id"],
                                name="credit_lots_package"),
        sa.UniqueConstraint("package_id", "valid_from", name="credit_lots_one_per_week"),
        sa.CheckConstraint("granted >= 0 AND available >= 0 AND held >= 0 AND spent >= 0 AND expired >= 0",
                           name="credit_lots_counters_non_negative"),
        sa.CheckConstraint("granted + adjusted = available + held + spent + expired", name="credit_lots_balanced"),
        sa.CheckConstraint("NOT unlimited OR (granted = 0 AND adjusted = 0 AND available = 0 AND held = 0"
                           " AND spent = 0 AND expired = 0)", name="credit_lots_unlimited_counts_nothing"),
        sa.CheckConstraint("expires_at IS NULL OR expires_at > valid_from", name="credit_lots_ends_after_start"),
    )
    op.create_index("credit_lots_client", "credit_lots", ["organization_id", "client_id"])
    op.create_index("credit_lots_package", "credit_lots", ["organization_id", "package_id", "valid_from"])
    op.create_index("credit_lots_expiring", "credit_lots", ["expires_at"], postgresql_where=sa.text("available > 0"))

    op.create_table(
        "credit_entries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("package_id", ID, nullable=False),
        sa.Column("lot_id", ID, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("credits", sa.Integer, nullable=False),
        sa.Column("booking_id", ID),
        sa.Column("actor_id", ID),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["organization_id", "lot_id"], ["credit_lots.organization_id", "credit_lots.id"],
                                name="credit_entries_lot"),
        sa.CheckConstraint("kind IN ('grant', 'reserve', 'consume', 'release', 'refund', 'expire', 'adjust')",
                           name="credit_entries_kind"),
        sa.CheckConstraint("(kind = 'adjust' AND credits <> 0) OR (kind <> 'adjust' AND credits >= 0)",
                           name="credit_entries_credits"),
    )
    op.create_index("credit_entries_client", "credit_entries", ["organization_id", "client_id", "id"])
    op.create_index("credit_entries_package", "credit_entries", ["organization_id", "package_id", "id"])
    op.create_index("credit_entries_lot", "credit_entries", ["organization_id", "lot_id"])
    # The ledger is append-only: history is corrected by new entries, never rewritten.
    op.execute("""
        CREATE FUNCTION credit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'credit_entries is append-only (% refused)', TG_OP;
        END $$
    """)
    op.execute("CREATE TRIGGER credit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_entries"
               " FOR EACH STATEMENT EXECUTE FUNCTION credit_entries_append_only()")

    op.create_table(
        "reservations",
        sa.Column("organization_id", ID, primary_key=True),
        sa.Column("booking_id", ID, primary_key=True),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("class_id", ID),
        sa.Column("studio_id", ID),
        sa.Column("class_starts_at", TS),
        sa.Column("lot_id", ID),
        sa.Column("package_id", ID),
        sa.Column("package_name", sa.Text),
        sa.Column("credits", sa.Integer, nullable=False),
        sa.Column("remaining", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["organization_id", "lot_id"], ["credit_lots.organization_id", "credit_lots.id"],
                                name="reservations_lot"),
        sa.CheckConstraint("status IN ('reserved', 'rejected', 'released', 'refunded', 'consumed')",
                           name="reservations_status"),
        sa.CheckConstraint("credits IN (0, 1)", name="reservations_credits"),
        sa.CheckConstraint(
            "(status = 'rejected' AND lot_id IS NULL AND reason IS NOT NULL)"
            " OR (status IN ('reserved', 'refunded', 'consumed') AND lot_id IS NOT NULL AND package_id IS NOT NULL)"
            " OR (status = 'released' AND (lot_id IS NULL) = (package_id IS NULL))",
            name="reservations_shape"),
    )
    op.create_index("reservations_held", "reservations", ["organization_id", "lot_id"],
                    postgresql_where=sa.text("status = 'reserved'"))


def downgrade() -> None:
    op.drop_table("reservations")
    op.drop_table("credit_entries")
    op.execute("DROP FUNCTION credit_entries_append_only()")
    op.drop_table("credit_lots")
    op.drop_table("packages")
    op.drop_table("products")
