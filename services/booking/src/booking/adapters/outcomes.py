"""Waiting for a booking's outcome while the client's request is still open.

The saga's answer is committed by whichever replica consumes billing's reply;
once committed, it is handed to the request waiting for it in that replica, or,
when none waits there, sent on a core NATS subject every replica listens to, so
the one holding the request wakes up at once and answers without reading the
booking again. (Not NOTIFY: PostgreSQL serializes the commits of every
transaction that sends one.) A lost announcement leaves the request to answer
`202` when its wait ends, as when billing is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from datetime import datetime
from uuid import UUID

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from booking.domain.bookings import Outcome

log = logging.getLogger(__name__)

_UUIDS = ("package_id", "cancelled_by")
_TIMES = ("confirmed_at", "cancelled_at")


def payload(booking_id: UUID, outcome: Outcome) -> bytes:
    """The message announcing to other replicas where a booking now stands."""
    fields = dict(outcome.fields)
    for name in _UUIDS:
        fields[name] = fields[name] and str(fields[name])
    for name in _TIMES:
        fields[name] = fields[name] and fields[name].isoformat()
    return json.dumps({"booking_id": str(booking_id), **fields}, separators=(",", ":")).encode()


def _read(fields: dict) -> Outcome:
    for name in _UUIDS:
        fields[name] = fields[name] and UUID(fields[name])
    for name in _TIMES:
        fields[name] = fields[name] and datetime.fromisoformat(fields[name])
    return Outcome(fields)


class OutcomeWaiter:
    def __init__(self) -> None:
        self._waiting: dict[UUID, list[asyncio.Future[Outcome]]] = defaultdict(list)
        self._nc: NATS | None = None
        self._subject = ""
        self._sending: set[asyncio.Task[None]] = set()

    def expect(self, booking_id: UUID) -> asyncio.Future[Outcome]:
        """Register before committing the request, so an answer can't slip past us."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[booking_id].append(future)
        return future

    async def wait(self, booking_id: UUID, future: asyncio.Future[Outcome], timeout: float) -> Outcome | None:
        """The booking's outcome, or None if none came in `timeout` seconds."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
        finally:
            futures = self._waiting.get(booking_id, [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiting.pop(booking_id, None)

    def announce(self, booking_id: UUID, outcome: Outcome) -> None:
        """A booking's outcome is committed: to the request waiting here, else to the other replicas."""
        if not self._settle(booking_id, outcome) and self._nc is not None:
            task = asyncio.get_running_loop().create_task(self._send(payload(booking_id, outcome)))
            self._sending.add(task)  # held until done: the loop keeps only a weak reference
            task.add_done_callback(self._sending.discard)

    def _settle(self, booking_id: UUID, outcome: Outcome) -> bool:
        futures = self._waiting.pop(booking_id, [])
        for future in futures:
            if not future.done():
                future.set_result(outcome)
        return bool(futures)

    async def _send(self, data: bytes) -> None:
        assert self._nc is not None
        try:
            await self._nc.publish(self._subject, data)
        except Exception:  # NATS away: the request answers 202 when its wait ends
            log.debug("could not announce a booking's outcome to the other replicas", exc_info=True)

    async def _on_message(self, msg: Msg) -> None:
        fields = json.loads(msg.data)
        self._settle(UUID(fields.pop("booking_id")), _read(fields))

    async def listen(self, nc: NATS, subject: str) -> None:
        """Hear the other replicas' announcements until cancelled (nats-py subscribes again after a reconnect)."""
        self._nc, self._subject = nc, subject
        heard = await nc.subscribe(subject, cb=self._on_message)
        try:
            await asyncio.Event().wait()
        finally:
            self._nc = None
            with contextlib.suppress(Exception):
                await heard.unsubscribe()
