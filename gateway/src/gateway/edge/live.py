"""Live updates: bus events pushed to connected web and mobile clients as server-sent events.

The gateway follows booking's events on NATS (one plain subscription, so they are
read in the order booking published them; every replica sees every event, as each
holds its own connections) and passes each one to the connections allowed to see it,
and to the edge's view of sold-out classes.
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

from gateway.edge.soldout import SoldOut
from studio_platform.auth import Principal

log = logging.getLogger(__name__)

SUBJECTS = "booking.>"
KINDS = {"booking": "booking", "waitlist": "waitlist", "class": "availability"}  # by the subject's second part
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
    kind = KINDS.get(subject.split(".")[1])
    if kind is None:
        return None  # booking's own jobs
    headers = headers or {}
    try:
        return LiveEvent(kind=kind, type=headers["ce-type"], organization_id=UUID(headers["ce-organizationid"]),
                         data=json.loads(body))
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

    def publish(self, event: LiveEvent) -> None:
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


async def follow_booking(nc: nats.NATS, soldout: SoldOut, feed: LiveFeed) -> None:
    """Read booking's events for as long as the gateway runs."""

    async def on_message(msg: Any) -> None:
        event = parse(msg.subject, msg.headers, msg.data)
        if event is None:
            return
        try:
            if event.kind == "booking":
                soldout.on_booking(event.organization_id, event.data)
            elif event.kind == "availability":
                soldout.on_availability(event.organization_id, event.data)
        except (KeyError, ValueError, TypeError):
            log.warning("unreadable %s event", event.type)
        feed.publish(event)

    subscription = await nc.subscribe(SUBJECTS, cb=on_message)
    try:
        await asyncio.Event().wait()
    finally:
        await subscription.unsubscribe()
