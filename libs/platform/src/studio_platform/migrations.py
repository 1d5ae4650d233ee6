"""Alembic plumbing shared by every service's migration tree.

A service's `env.py` calls `run_migrations(metadata)`; its first revision calls
`create_messaging_tables()` for the outbox and inbox.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from studio_platform.db import asyncpg_url
from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table


def create_messaging_tables() -> None:
    metadata = sa.MetaData()
    outbox_table(metadata)
    inbox_table(metadata)
    metadata.create_all(op.get_bind())


def drop_messaging_tables() -> None:
    op.drop_table("inbox")
    op.drop_table("outbox")


def run_migrations(target_metadata: sa.MetaData, *, env_var: str) -> None:
    """Run from a service's alembic env.py; the URL comes from alembic.ini or `env_var`."""
    url = context.config.get_main_option("sqlalchemy.url") or os.environ[env_var]

    def do_run(connection: sa.Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(asyncpg_url(url), poolclass=sa.pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=asyncpg_url(url), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Migrate a service's database (used by the dev stack and the tests)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))  # configparser escaping
    command.upgrade(cfg, revision)
