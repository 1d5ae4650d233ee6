"""The identity schema as SQLAlchemy Core tables (the migrations create the same by hand).

Users and refresh tokens are global: one person may belong to several
organizations. Every other row carries its organization id.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table

metadata = sa.MetaData()


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _studio_ids() -> sa.Column:
    return sa.Column("studio_ids", ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}")


ROLE_CHECK = "role IN ('owner', 'manager', 'instructor', 'client')"

users = sa.Table(
    "users", metadata,
    _id(),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    _created_at(),
    sa.Column("email_verified_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("email", name="users_email_key"),
)

organizations = sa.Table(
    "organizations", metadata,
    _id(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("slug", sa.Text, nullable=False),
    _created_at(),
    sa.UniqueConstraint("slug", name="organizations_slug_key"),
)

studios = sa.Table(
    "studios", metadata,
    _id(),
    sa.Column("organization_id", UUID(as_uuid=True), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("address", sa.Text),
    _created_at(),
    sa.UniqueConstraint("organization_id", "name", name="studios_organization_id_name_key"),
)

memberships = sa.Table(
    "memberships", metadata,
    _id(),
    sa.Column("organization_id", UUID(as_uuid=True), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    _studio_ids(),
    _created_at(),
    sa.UniqueConstraint("organization_id", "user_id", name="memberships_organization_id_user_id_key"),
    sa.CheckConstraint(ROLE_CHECK, name="memberships_role_check"),
    sa.Index("memberships_user_id", "user_id"),
)

invitations = sa.Table(
    "invitations", metadata,
    _id(),
    sa.Column("organization_id", UUID(as_uuid=True), sa.ForeignKey("organizations.id"), nullable=False),
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
    sa.Index("invitations_pending", "organization_id", "created_at",
             postgresql_where=sa.text("accepted_at IS NULL")),
)

refresh_tokens = sa.Table(
    "refresh_tokens", metadata,
    _id(),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("organization_id", UUID(as_uuid=True), sa.ForeignKey("organizations.id")),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("family_id", UUID(as_uuid=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("replaced_by", UUID(as_uuid=True), sa.ForeignKey("refresh_tokens.id")),
    _created_at(),
    sa.UniqueConstraint("token_hash", name="refresh_tokens_token_hash_key"),
    sa.Index("refresh_tokens_family_id", "family_id"),
    sa.Index("refresh_tokens_user_id", "user_id"),
)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
