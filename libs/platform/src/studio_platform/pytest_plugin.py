"""Pytest fixtures for any service's integration tests, against real PostgreSQL and NATS.

`make test` starts (or finds) the servers and exports DATABASE_URL (a server
URL; each test app gets its own fresh database) and NATS_URL.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from studio_platform.migrations import upgrade
from studio_platform.testing import TokenMinter, drop_database, recreate_database


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test`, which provides PostgreSQL and NATS.")
    return value


@pytest.fixture(scope="session")
def minter() -> TokenMinter:
    return TokenMinter()


@pytest.fixture(scope="session")
def nats_url() -> str:
    return _env("NATS_URL")


@pytest.fixture(scope="session")
def database_server_url() -> str:
    return _env("DATABASE_URL")


def fresh_database(server_url: str, name: str, migrations: Path) -> str:
    """A new, migrated database for one test app (sync: alembic runs its own event loop)."""
    url = asyncio.run(recreate_database(server_url, name))
    upgrade(migrations, url)
    return url


@pytest.fixture
def service_app(database_server_url: str, nats_url: str, minter: TokenMinter) -> Callable[..., Any]:
    """`async with service_app(create_app, Settings, migrations) as (app, client):` a running service."""

    @asynccontextmanager
    async def run(create_app: Callable[[Any], FastAPI], settings_cls: type, migrations: Path,
                  **overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        tag = uuid.uuid4().hex[:8]
        name = f"test_{settings_cls.__name__.lower()}_{tag}"
        url = await asyncio.to_thread(fresh_database, database_server_url, name, migrations)
        settings = settings_cls(database_url=url, nats_url=nats_url, auth_jwks=minter.jwks,
                                durable_prefix=f"t{tag}-", consumer_start="new", log_json=False, **overrides)
        app = create_app(settings)
        try:
            async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
                transport = httpx.ASGITransport(app=manager.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    yield app, client
        finally:
            await drop_database(database_server_url, name)

    return run
