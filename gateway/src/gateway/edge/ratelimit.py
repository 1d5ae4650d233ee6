"""Rate limits per caller: a signed-in user by their id, anyone else by address.

In-memory moving windows (the `limits` library): each gateway replica counts
on its own, which bounds abuse without a shared store.
"""

from __future__ import annotations

import time

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from studio_platform.errors import RateLimited


class RateLimits:
    def __init__(self, *, auth: str, default: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._auth = parse(auth)
        self._default = parse(default)

    async def check(self, *, caller: str, sensitive: bool) -> None:
        """Sign-up, login and token refresh are limited harder: they are where guessing happens."""
        limit = self._auth if sensitive else self._default
        if not await self._limiter.hit(limit, "auth" if sensitive else "api", caller):
            stats = await self._limiter.get_window_stats(limit, "auth" if sensitive else "api", caller)
            retry = max(1, int(stats.reset_time - time.time()))
            raise RateLimited("Too many requests; slow down.", code="rate-limited", retry_after=retry)
