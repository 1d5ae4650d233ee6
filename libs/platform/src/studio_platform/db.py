"""Async SQLAlchemy engines on asyncpg."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


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


# Hot statements are built once, at import, with their values as parameters: building a statement and
# its cache key on every call cost SQLAlchemy more than running it.
def matching(table: sa.Table, *columns: str, prefix: str = "w_") -> sa.ColumnElement[bool]:
    """`column = :w_column` for each column (the prefix keeps clear of an UPDATE's own SET parameters, and
    of another table's in the same statement)."""
    return sa.and_(*(table.c[name] == sa.bindparam(f"{prefix}{name}") for name in columns))


def match(prefix: str = "w_", **values: Any) -> dict[str, Any]:
    """The parameters of `matching`."""
    return {f"{prefix}{name}": value for name, value in values.items()}


def xact_lock() -> sa.ColumnElement[Any]:
    """`pg_advisory_xact_lock` on the text `:key`: held until the transaction ends, touching no row."""
    return sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(sa.bindparam("key", type_=sa.Text), 0))


_XACT_LOCK = sa.select(xact_lock())


async def advisory_xact_lock(db: AsyncConnection, key: str) -> None:
    """A lock on `key` until the transaction ends, touching no row."""
    await db.execute(_XACT_LOCK, {"key": key})
