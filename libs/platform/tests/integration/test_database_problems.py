"""Without a pre-ping, a pooled connection the server has dropped fails one request: as a 503 to retry, not a 500."""

import asyncpg
import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from studio_platform.problems import install_problem_handlers


async def test_a_dropped_connection_answers_503_once_then_the_pool_recovers(database):
    url, engine, _ = database
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/backend")
    async def backend() -> int:
        async with engine.connect() as conn:
            return await conn.scalar(sa.text("SELECT pg_backend_pid()"))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as client:
        pid = (await client.get("/backend")).json()  # now idle in the pool
        other = await asyncpg.connect(url)  # outside the pool, which would hand back the same connection
        try:
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await other.close()
        dropped = await client.get("/backend")
        assert dropped.status_code == 503, dropped.text
        assert dropped.json()["code"] == "database-unavailable" and dropped.headers["retry-after"] == "1"
        again = await client.get("/backend")
        assert again.status_code == 200 and again.json() != pid
