"""Rate limits per caller: a signed-in user by their id, anyone else by address.

In-memory sliding-window counters (the `limits` library): each gateway replica
counts on its own, which bounds abuse without a shared store. Counters rather
than the exact moving window: constant work per request, where the moving window
keeps every hit and sweeps them all (through a thread) as they expire.
"""

from __future__ import annotations

import re
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

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


class RateLimits:
    def __init__(self, *, auth: str, default: str, booking: str) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._limits: dict[str, RateLimitItem] = {"auth": parse(auth), "api": parse(default),
                                                  "booking": parse(booking)}

    async def check(self, *, caller: str, category: str) -> None:
        limit = self._limits[category]
        if not await self._limiter.hit(limit, category, caller):
            stats = await self._limiter.get_window_stats(limit, category, caller)
            retry = max(1, int(stats.reset_time - time.time()))
            raise RateLimited("Too many requests; slow down.", code="rate-limited", retry_after=retry)
