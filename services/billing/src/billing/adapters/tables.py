"""Billing's tables. Every row carries its organization."""

import sqlalchemy as sa

from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table

metadata = sa.MetaData()
outbox_table(metadata)
inbox_table(metadata)
