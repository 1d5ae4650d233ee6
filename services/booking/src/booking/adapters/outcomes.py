"""Waiting for a booking's outcome while the client's request is still open.

The saga's answer is committed by whichever replica consumes billing's reply;
it announces it with NOTIFY, and every replica listens, so the one holding the
request wakes up at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from uuid import UUID

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "booking_outcome"


class OutcomeWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[None]]] = defaultdict(list)

    def expect(self, booking_id: UUID) -> asyncio.Future[None]:
        """Register before committing the request, so an answer can't slip past us."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[str(booking_id)].append(future)
        return future

    async def wait(self, booking_id: UUID, future: asyncio.Future[None], timeout: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            futures = self._waiting.get(str(booking_id), [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiting.pop(str(booking_id), None)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for future in self._waiting.pop(payload, []):
            if not future.done():
                future.set_result(None)

    async def _listen_once(self, database_url: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _conn: closed.set())
            await conn.add_listener(CHANNEL, self._on_notify)
            await closed.wait()
        finally:
            await conn.close()

    async def listen(self, database_url: str) -> None:
        """Listen until cancelled, reconnecting after failures."""
        while True:
            try:
                await self._listen_once(database_url)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outcome listener lost its connection; reconnecting")
                await asyncio.sleep(1)
