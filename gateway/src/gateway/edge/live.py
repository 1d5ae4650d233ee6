"""Live updates: bus events pushed to connected web and mobile clients as server-sent events.

The gateway listens to booking's events on NATS (a plain subscription: every
replica sees every event, as each holds its own connections) and passes each
one to the connections allowed to see it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import nats

from studio_platform.auth import Principal

log = logging.getLogger(__name__)

SUBJECTS = ("booking.booking.>", "booking.waitlist.>", "booking.class.availability_changed")
QUEUE_SIZE = 256


@dataclass(frozen=True)
class LiveEvent:
    kind: str  # booking | waitlist | availability
    type: str
    organization_id: UUID
    data: dict[str, Any]


def visible_to(principal: Principal, event: LiveEvent) -> bool:
    """Availability is for everyone in the organization; a booking or a place in line for its client and the
    class's staff (its instructor, its studio's managers, the owners)."""
    if principal.organization_id != event.organization_id:
        return False
    if event.kind == "availability":
        return True
    data = event.data
    if str(principal.user_id) in (data.get("client_id"), data.get("instructor_id")):
        return True
    return bool(data.get("studio_id")) and principal.manages_studio(UUID(data["studio_id"]))


def parse(subject: str, headers: dict[str, str] | None, body: bytes) -> LiveEvent | None:
    headers = headers or {}
    try:
        data = json.loads(body)
        return LiveEvent(kind=subject.split(".")[1].replace("class", "availability"), type=headers["ce-type"],
                         organization_id=UUID(headers["ce-organizationid"]), data=data)
    except (KeyError, ValueError):
        return None


@dataclass(eq=False)  # each connection is its own listener, kept in a set
class _Listener:
    principal: Principal
    queue: asyncio.Queue[LiveEvent] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))


class LiveFeed:
    def __init__(self) -> None:
        self._listeners: set[_Listener] = set()

    @property
    def connections(self) -> int:
        return len(self._listeners)

    async def run(self, nc: nats.NATS) -> None:
        subscriptions = [await nc.subscribe(subject, cb=self._on_message) for subject in SUBJECTS]
        try:
            await asyncio.Event().wait()
        finally:
            for subscription in subscriptions:
                await subscription.unsubscribe()

    async def _on_message(self, msg: Any) -> None:
        if not self._listeners:  # nobody connected: not worth reading
            return
        event = parse(msg.subject, msg.headers, msg.data)
        if event is None:
            return
        for listener in list(self._listeners):
            if visible_to(listener.principal, event):
                if listener.queue.full():  # a slow reader loses the oldest update, never blocks the rest
                    listener.queue.get_nowait()
                listener.queue.put_nowait(event)

    async def stream(self, principal: Principal) -> AsyncIterator[dict[str, str]]:
        listener = _Listener(principal)
        self._listeners.add(listener)
        try:
            yield {"event": "ready", "data": json.dumps({"organization_id": str(principal.organization_id)})}
            while True:
                event = await listener.queue.get()
                yield {"event": event.kind, "data": json.dumps({"type": event.type, **event.data})}
        finally:
            self._listeners.discard(listener)
