"""Identity: users, organizations, studios, memberships, invitations, refresh tokens; outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from studio_platform.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROLE_CHECK = "role IN ('owner', 'manager', 'instructor', 'client')"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _studio_ids() -> sa.Column:
    return sa.Column("studio_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}")


def _organization_id(nullable: bool = False) -> sa.Column:
    return sa.Column("organization_id", UUID(as_uuid=True), sa.ForeignKey("organizations.id"), nullable=nullable)


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        _created_at(),
        sa.Column("email_verified_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("email", name="users_email_key"),
    )
    op.create_table(
        "organizations",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        _created_at(),
        sa.UniqueConstraint("slug", name="organizations_slug_key"),
    )
    op.create_table(
        "studios",
        _id(),
        _organization_id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("address", sa.Text),
        _created_at(),
        sa.UniqueConstraint("organization_id", "name", name="studios_organization_id_name_key"),
    )
    op.create_table(
        "memberships",
        _id(),
        _organization_id(),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        _studio_ids(),
        _created_at(),
        sa.UniqueConstraint("organization_id", "user_id", name="memberships_organization_id_user_id_key"),
        sa.CheckConstraint(ROLE_CHECK, name="memberships_role_check"),
    )
    op.create_index("memberships_user_id", "memberships", ["user_id"])
    op.create_table(
        "invitations",
        _id(),
        _organization_id(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        _studio_ids(),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("invited_by", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        _created_at(),
        sa.UniqueConstraint("token_hash", name="invitations_token_hash_key"),
        sa.CheckConstraint(ROLE_CHECK, name="invitations_role_check"),
    )
    # Staff list the pending invitations of their organization.
    op.create_index("invitations_pending", "invitations", ["organization_id", "created_at"],
                    postgresql_where=sa.text("accepted_at IS NULL"))
    op.create_table(
        "refresh_tokens",
        _id(),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        _organization_id(nullable=True),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("replaced_by", UUID(as_uuid=True), sa.ForeignKey("refresh_tokens.id")),
        _created_at(),
        sa.UniqueConstraint("token_hash", name="refresh_tokens_token_hash_key"),
    )
    # Reuse detection and logout revoke a whole family; a user's sessions are listed by user.
    op.create_index("refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("refresh_tokens_user_id", "refresh_tokens", ["user_id"])


def downgrade() -> None:
    for table in ("refresh_tokens", "invitations", "memberships", "studios", "organizations", "users"):
        op.drop_table(table)
    drop_messaging_tables()
