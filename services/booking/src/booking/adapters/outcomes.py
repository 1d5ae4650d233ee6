"""Waiting for a booking's outcome while the client's request is still open.

The saga's answer is committed by whichever replica consumes billing's reply;
it announces it with NOTIFY, the outcome itself in the payload, and every
replica listens, so the one holding the request wakes up at once and answers
without reading the booking again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from datetime import datetime
from uuid import UUID

import asyncpg

from booking.domain.bookings import Booking, Outcome

log = logging.getLogger(__name__)

CHANNEL = "booking_outcome"

_UUIDS = ("package_id", "cancelled_by")
_TIMES = ("confirmed_at", "cancelled_at")


def payload(booking: Booking) -> str:
    """The NOTIFY payload announcing where `booking` now stands."""
    fields = dict(Outcome.of(booking).fields)
    for name in _UUIDS:
        fields[name] = fields[name] and str(fields[name])
    for name in _TIMES:
        fields[name] = fields[name] and fields[name].isoformat()
    return json.dumps({"booking_id": str(booking.id), **fields}, separators=(",", ":"))


def _read(fields: dict) -> Outcome:
    for name in _UUIDS:
        fields[name] = fields[name] and UUID(fields[name])
    for name in _TIMES:
        fields[name] = fields[name] and datetime.fromisoformat(fields[name])
    return Outcome(fields)


class OutcomeWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[Outcome]]] = defaultdict(list)

    def expect(self, booking_id: UUID) -> asyncio.Future[Outcome]:
        """Register before committing the request, so an answer can't slip past us."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[str(booking_id)].append(future)
        return future

    async def wait(self, booking_id: UUID, future: asyncio.Future[Outcome], timeout: float) -> Outcome | None:
        """The booking's outcome, or None if none came in `timeout` seconds."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
        finally:
            futures = self._waiting.get(str(booking_id), [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiting.pop(str(booking_id), None)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, announced: str) -> None:
        fields = json.loads(announced)
        futures = self._waiting.pop(fields.pop("booking_id"), [])
        if futures:
            outcome = _read(fields)
            for future in futures:
                if not future.done():
                    future.set_result(outcome)

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
