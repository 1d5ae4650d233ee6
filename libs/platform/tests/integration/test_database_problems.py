"""A database that drops or refuses connections fails requests as a 503 to retry, never a 500."""

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from studio_platform.db import make_engine
from studio_platform.problems import install_problem_handlers


def client_for(backend: Callable[[], Awaitable[int | None]]) -> httpx.AsyncClient:
    """A client of an app with the platform's problem handlers and `GET /backend` answered by `backend`."""
    app = FastAPI()
    install_problem_handlers(app)
    app.get("/backend")(backend)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://test")


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "database-unavailable" and answer.headers["retry-after"] == "1"


async def test_a_dropped_connection_answers_503_once_then_the_pool_recovers(database):
    url, engine = database

    async def backend() -> int:
        async with engine.connect() as conn:
            return await conn.scalar(sa.text("SELECT pg_backend_pid()"))

    async with client_for(backend) as client:
        pid = (await client.get("/backend")).json()  # now idle in the pool
        other = await asyncpg.connect(url)  # outside the pool, which would hand back the same connection
        try:
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await other.close()
        assert_unavailable(await client.get("/backend"))
        again = await client.get("/backend")
        assert again.status_code == 200 and again.json() != pid


async def test_a_database_refusing_connections_answers_503(database):
    url, engine = database
    role = f"full_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:  # a role with no connections left: "too many connections" (53300)
        await conn.execute(sa.text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
    refused = make_engine(sa.make_url(url).set(username=role).render_as_string(hide_password=False))

    async def backend() -> int:
        async with refused.connect() as conn:
            return await conn.scalar(sa.text("SELECT 1"))

    try:
        async with client_for(backend) as client:
            assert_unavailable(await client.get("/backend"))
    finally:
        await refused.dispose()
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"DROP ROLE {role}"))


async def test_a_deadlock_victim_answers_503_not_500(database):
    _, engine = database

    async def backend() -> None:
        async with engine.begin() as conn:  # what PostgreSQL raises at the victim of a deadlock
            await conn.execute(sa.text(
                "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$"))

    async with client_for(backend) as client:
        assert_unavailable(await client.get("/backend"))
