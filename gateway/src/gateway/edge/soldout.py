"""A class booking has just called full is answered as full at the edge, until anything about it changes.

In a sale almost every attempt finds the class full, and each would cost the gateway's hop and a request
to booking for the answer booking gave a moment before. The gateway keeps booking's own `class-full`
answer for the class and gives it again, but only while nothing can have changed it:

- no change to the class's seats or waitlist announced since (booking announces every one);
- for at most `ttl` seconds (registration may close, the studio may change its waitlist limit);
- to a caller of the class's organization who sent no `Idempotency-Key` (a retry must reach its booking)
  and holds no seat in the class (booking tells a holder `already-booked`). The gateway knows who holds
  a seat from booking's events, and trusts that only when it has heard of every held seat: as many
  holders as the class's last announced confirmed and pending bookings.

Booking stays the only authority on seats: the edge only repeats a refusal, never takes a booking.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

HOLDING = frozenset({"pending", "confirmed"})


@dataclass
class _Class:
    organization_id: UUID
    held: int = -1  # confirmed + pending as last announced; -1 until an announcement is heard
    version: int = -1  # of that announcement
    holders: set[UUID] = field(default_factory=set)
    answer: bytes | None = None  # booking's class-full body, while it stands
    answered_version: int = -1  # the seats' version booking answered from
    answered_at: float = 0.0


class SoldOut:
    def __init__(self, *, ttl: float = 1.0, max_classes: int = 20_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_classes, self.clock = ttl, max_classes, clock
        self._classes: OrderedDict[UUID, _Class] = OrderedDict()  # least recently heard of first

    def _class(self, class_id: UUID, organization_id: UUID) -> _Class:
        known = self._classes.get(class_id)
        if known is None or known.organization_id != organization_id:
            known = self._classes[class_id] = _Class(organization_id)
            if len(self._classes) > self.max_classes:
                self._classes.popitem(last=False)
        else:
            self._classes.move_to_end(class_id)
        return known

    def on_booking(self, organization_id: UUID, data: dict[str, Any]) -> None:
        """A booking's new state (any `booking.booking.*` event)."""
        known = self._class(UUID(data["class_id"]), organization_id)
        client = UUID(data["client_id"])
        if data["status"] in HOLDING:
            known.holders.add(client)
        else:
            known.holders.discard(client)

    def on_availability(self, organization_id: UUID, data: dict[str, Any]) -> None:
        """A change to the class's seats or waitlist: any answer kept for it no longer stands."""
        known = self._class(UUID(data["class_id"]), organization_id)
        version = int(data.get("seats_version", 0))
        if version < known.version:
            return  # an older announcement overtaken by a newer one
        known.version, known.held = version, int(data["confirmed"]) + int(data["pending"])
        if version > known.answered_version:
            known.answer = None

    def remember(self, class_id: UUID, organization_id: UUID, body: bytes, seats_version: int) -> None:
        """Booking answered an attempt on the class with this `class-full` problem, from these seats."""
        known = self._class(class_id, organization_id)
        if seats_version >= known.version:  # else a change was announced after booking looked
            known.answer, known.answered_version, known.answered_at = body, seats_version, self.clock()

    def answer(self, class_id: UUID, organization_id: UUID, client_id: UUID) -> bytes | None:
        """Booking's standing `class-full` answer for this caller, or None to ask booking."""
        known = self._classes.get(class_id)
        if not self.ttl or known is None or known.answer is None or known.organization_id != organization_id:
            return None
        if self.clock() - known.answered_at > self.ttl:
            known.answer = None
            return None
        if len(known.holders) != known.held or client_id in known.holders:
            return None
        return known.answer
