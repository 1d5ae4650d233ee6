"""Rate limits per caller: a signed-in user by their id, anyone else by address.

Sliding-window counters in memory: each gateway replica counts on its own, which bounds abuse without
a shared store. A caller's count in this window, plus last window's weighted by how much of it the
sliding window still covers, must stay under the limit: constant work per request. (The `limits`
library's asyncio memory store, used before, looked at every caller's counter on every request to expire
old ones, so a request cost more the more people had called lately; its parser still reads the settings.)
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from limits import parse

from studio_platform.errors import RateLimited

# Sign-up, login and refresh are where guessing happens; booking attempts are where a script would hammer.
_AUTH_PATHS = frozenset({"/v1/auth/signup", "/v1/auth/login", "/v1/auth/refresh"})
_BOOKING = re.compile(r"^/v1/classes/[^/]+/bookings$")


def category(method: str, path: str) -> str:
    if path in _AUTH_PATHS:
        return "auth"
    if method == "POST" and _BOOKING.match(path):
        return "booking"
    return "api"


@dataclass
class _Count:
    window: int  # which window `current` counts (window start // length)
    current: int
    previous: int


class SlidingWindow:
    """`limit` hits per `seconds` per key."""

    def __init__(self, limit: int, seconds: int) -> None:
        self.limit, self.seconds = limit, seconds
        self._counts: dict[str, _Count] = {}
        self._swept = 0

    def hit(self, key: str, now: float) -> float | None:
        """Count a hit and return None, or refuse it (counting nothing) and return the seconds to wait."""
        window, into = divmod(now, self.seconds)
        window = int(window)
        if window > self._swept:  # once a window, forget callers quiet for two
            self._counts = {k: c for k, c in self._counts.items() if c.window >= window - 1}
            self._swept = window
        count = self._counts.get(key)
        if count is None or count.window < window - 1:
            count = self._counts[key] = _Count(window, 0, 0)
        elif count.window == window - 1:
            count.window, count.previous, count.current = window, count.current, 0
        overlap = 1 - into / self.seconds  # of last window, still inside the sliding one
        if count.previous * overlap + count.current + 1 <= self.limit:
            count.current += 1
            return None
        if count.current + 1 > self.limit or count.previous == 0:
            return self.seconds - into  # this window alone is full: wait for the next
        # Wait until enough of last window has slid out: previous * overlap' <= limit - current - 1.
        needed_overlap = max(0.0, (self.limit - count.current - 1) / count.previous)
        return (overlap - needed_overlap) * self.seconds


class RateLimits:
    def __init__(self, *, auth: str, default: str, booking: str) -> None:
        self._windows = {name: SlidingWindow(item.amount, item.get_expiry())
                         for name, item in (("auth", parse(auth)), ("api", parse(default)),
                                            ("booking", parse(booking)))}

    def check(self, *, caller: str, category: str, now: float | None = None) -> None:
        wait = self._windows[category].hit(caller, time.time() if now is None else now)
        if wait is not None:
            raise RateLimited("Too many requests; slow down.", code="rate-limited",
                              retry_after=max(1, math.ceil(wait)))
