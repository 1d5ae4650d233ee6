"""Helpers for tests of any service: tokens, throwaway databases, waiting for effects, stopping replicas."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar
from uuid import UUID

import asyncpg
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from studio_platform.auth import access_claims, sign
from studio_platform.db import plain_url
from studio_platform.keys import SigningKey, jwks_json

T = TypeVar("T")

ISSUER = "studio-gateway"
AUDIENCE = "studio-api"


class TokenMinter:
    """Signs access tokens as the gateway would, for tests that call a service directly."""

    def __init__(self) -> None:
        self.key = SigningKey.generate()

    @property
    def jwks(self) -> str:
        return jwks_json(self.key)

    def token(self, *, user_id: UUID | None = None, organization_id: UUID | None = None,
              roles: tuple[str, ...] = ("client",), studio_ids: tuple[UUID, ...] = (), name: str = "Test User",
              ttl_seconds: int = 600, now: float | None = None) -> str:
        claims = access_claims(user_id=user_id or uuid.uuid4(), organization_id=organization_id, roles=list(roles),
                               studio_ids=list(studio_ids), name=name, issuer=ISSUER, audience=AUDIENCE,
                               ttl_seconds=ttl_seconds, now=now)
        return sign(claims, private_key=self.key.private_key, kid=self.key.kid)


def database_url(server_url: str, name: str) -> str:
    base, _, _ = plain_url(server_url).rpartition("/")
    return f"{base}/{name}"


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def recreate_database(server_url: str, name: str) -> str:
    await drop_database(server_url, name)
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url(server_url, name)


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05,
                     until: Callable[[T], bool] = bool) -> T:
    """Retry `check` until `until(result)` (by default: a truthy result) without raising; else fail with the
    last result or error."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = await check()
            if until(result):
                return result
            last = AssertionError(f"still {result!r}")
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    raise AssertionError(f"not true within {timeout}s: {last}")


async def stop_replicas(tasks: Iterable[asyncio.Task[None]], connections: Iterable[NATS]) -> None:
    """End what a test ran as replicas: cancel their loops, wait for them to finish, close their NATS connections."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for nc in connections:
        await nc.close()


async def published(database_url: str, js: JetStreamContext, subjects: str, organization_id: UUID | str,
                    *, timeout: float = 10.0) -> list[Msg]:
    """The messages an organization's committed changes published on `subjects` (a subject filter), in stream
    order, once its service's outbox holds none of its events: the relay publishes a row, then deletes it."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        await eventually(lambda: conn.fetchval("SELECT count(*) = 0 FROM outbox WHERE organization_id = $1",
                                               UUID(str(organization_id))), timeout=timeout)
    finally:
        await conn.close()
    return [msg for msg in await stored(js, subjects)
            if (msg.headers or {}).get("ce-organizationid") == str(organization_id)]


async def stored(js: JetStreamContext, subjects: str) -> list[Msg]:
    """Every message the streams hold on `subjects` (a subject filter), in stream order, read with a throwaway
    consumer."""
    sub = await js.subscribe(subjects, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    found: list[Msg] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                break  # nothing on these subjects at all
            found.append(msg)
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return found
