"""The migrations build exactly the schema the tables describe, and can be undone."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.identity.adapters.tables import metadata
from studio_platform.db import asyncpg_url
from studio_platform.migrations import upgrade

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_migrations_match_the_tables(database_url):
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata))
    finally:
        await engine.dispose()
    assert diff == []


async def test_migrations_go_down_and_up_again(empty_database_url, migrations_dir):
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", empty_database_url)
    # Alembic runs its own event loop: keep it off ours.
    await asyncio.to_thread(upgrade, migrations_dir, empty_database_url)
    await asyncio.to_thread(downgrade, config, "base")
    await asyncio.to_thread(upgrade, migrations_dir, empty_database_url)
