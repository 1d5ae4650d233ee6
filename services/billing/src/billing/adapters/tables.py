"""Billing's tables. Every row carries its organization, and the counters guard themselves.

Each table's key starts with the organization, and rows refer to each other
within one organization only (composite foreign keys), so no query can reach
across tenants by following an id.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table

metadata = sa.MetaData()
outbox_table(metadata)
inbox_table(metadata)

TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)

products = sa.Table(
    "products", metadata,
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
        "(kind = 'class_pack' AND credits > 0 AND validity_days > 0 AND validity_from IN ('purchase', 'first_use')"
        " AND duration_days IS NULL AND credits_per_week IS NULL AND NOT weekly_rollover)"
        " OR (kind = 'membership' AND duration_days > 0 AND (credits_per_week IS NULL OR credits_per_week > 0)"
        " AND credits IS NULL AND validity_days IS NULL AND validity_from IS NULL)",
        name="products_terms"),
)

packages = sa.Table(
    "packages", metadata,
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
        " OR (kind = 'membership' AND expires_at IS NOT NULL AND (credits_per_week IS NULL OR credits_per_week > 0)"
        " AND (next_allowance_at IS NULL OR next_allowance_at < expires_at))",
        name="packages_terms"),
    sa.Index("packages_client", "organization_id", "client_id", "starts_at"),
    sa.Index("packages_allowance_due", "next_allowance_at",
             postgresql_where=sa.text("status = 'active' AND next_allowance_at IS NOT NULL")),
    sa.Index("packages_ending", "expires_at", postgresql_where=sa.text("status = 'active'")),
)

credit_lots = sa.Table(
    "credit_lots", metadata,
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
    # Weekly allowances: at most one lot per package and week, whoever grants it.
    sa.UniqueConstraint("package_id", "valid_from", name="credit_lots_one_per_week"),
    sa.CheckConstraint("granted >= 0 AND available >= 0 AND held >= 0 AND spent >= 0 AND expired >= 0",
                       name="credit_lots_counters_non_negative"),
    sa.CheckConstraint("granted + adjusted = available + held + spent + expired", name="credit_lots_balanced"),
    sa.CheckConstraint("NOT unlimited OR (granted = 0 AND adjusted = 0 AND available = 0 AND held = 0"
                       " AND spent = 0 AND expired = 0)", name="credit_lots_unlimited_counts_nothing"),
    sa.CheckConstraint("expires_at IS NULL OR expires_at > valid_from", name="credit_lots_ends_after_start"),
    sa.Index("credit_lots_client", "organization_id", "client_id"),
    sa.Index("credit_lots_package", "organization_id", "package_id", "valid_from"),
    sa.Index("credit_lots_expiring", "expires_at", postgresql_where=sa.text("available > 0")),
)

credit_entries = sa.Table(
    "credit_entries", metadata,
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
    sa.Index("credit_entries_client", "organization_id", "client_id", "id"),
    sa.Index("credit_entries_package", "organization_id", "package_id", "id"),
    sa.Index("credit_entries_lot", "organization_id", "lot_id"),
)

reservations = sa.Table(
    "reservations", metadata,
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
    sa.Index("reservations_held", "organization_id", "lot_id", postgresql_where=sa.text("status = 'reserved'")),
)
