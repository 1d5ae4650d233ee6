"""Async SQLAlchemy engines on asyncpg."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def asyncpg_url(url: str) -> str:
    """Accept the plain `postgresql://` URLs operators write and use the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def plain_url(url: str) -> str:
    """The same URL for asyncpg itself (no SQLAlchemy driver suffix)."""
    return "postgresql://" + asyncpg_url(url)[len("postgresql+asyncpg://"):]


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip on every checkout. A connection the server dropped fails
    # its one request (answered 503, see problems.py) and the pool then replaces every older one.
    return create_async_engine(asyncpg_url(url), pool_size=pool_size, max_overflow=max_overflow)

