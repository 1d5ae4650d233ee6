"""A closed-loop load generator on aiohttp: a fixed number of workers, per-request timings, its own CPU share.

aiohttp rather than httpx: httpx costs over a millisecond of client CPU per request
here, which on a 2-core machine would be taken from the system under test.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

# A 202 (pending) booking's outcome is read after the run, once the system says it has settled:
# its client would learn it from the live feed, which the gateway feeds whether anyone listens or
# not, so polls during the run would be load that the field does not see. The confirmation time
# is the server's `confirmed_at`, so reading it late changes nothing in what is measured.
RESOLVE_CONCURRENCY, RESOLVE_TIMEOUT = 16, 600.0


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    key: Any = None  # the caller's tag, e.g. (client, class)


@dataclass
class Outcome:
    call: Call
    start: float  # time.monotonic()
    end: float = 0.0  # the answer arrived
    status: int = 0  # HTTP status, 0 for a transport error
    final: str = ""  # confirmed, rejected, class-full, already-booked, failed, http-500, error:...
    confirmed: float | None = None  # on the monotonic clock, when the booking became confirmed
    booking_id: str | None = None  # of a 202 answer, to read its outcome later

    @property
    def latency(self) -> float:
        return self.end - self.start


@dataclass
class Run:
    outcomes: list[Outcome]
    wall: float
    cpu: float  # this process's CPU seconds over the run (user + system, all threads)
    polls: int = 0  # reads of pending bookings after the run
    # From the first request to the last confirmation, summed over the parts of a joined run (`joined`);
    # None for a run driven at once, whose outcomes tell it.
    busy: float | None = None

    @staticmethod
    def joined(parts: list[Run]) -> Run:
        """One run of parts driven apart: their times add up, the pauses between them do not count."""
        return Run([o for part in parts for o in part.outcomes], sum(part.wall for part in parts),
                   sum(part.cpu for part in parts), sum(part.polls for part in parts),
                   sum(part.span() for part in parts))

    def span(self) -> float:
        """Seconds from the first request to the last confirmation (to the first request when none)."""
        if self.busy is not None:
            return self.busy
        first = min((o.start for o in self.outcomes), default=0.0)
        return max((o.confirmed for o in self.outcomes if o.confirmed is not None), default=first) - first

    @property
    def cpu_share(self) -> float:
        return self.cpu / self.wall if self.wall else 0.0

    def count(self, final: str) -> int:
        return sum(o.final == final for o in self.outcomes)

    def summary(self) -> dict[str, Any]:
        answers = [o.latency for o in self.outcomes if o.status]
        confirmed = [o for o in self.outcomes if o.confirmed is not None]
        span = self.span()
        to_confirm = [o.confirmed - o.start for o in confirmed]  # type: ignore[operator]
        return {
            "requests": len(self.outcomes),
            "finals": dict(Counter(o.final for o in self.outcomes).most_common()),
            "http": dict(sorted(Counter(o.status for o in self.outcomes).items())),
            "answers_per_s": len(answers) / self.wall if self.wall else 0.0,
            "answer_p50": percentile(answers, 50), "answer_p95": percentile(answers, 95),
            "answer_p99": percentile(answers, 99), "answer_max": max(answers, default=0.0),
            "confirmed": len(confirmed),
            # Confirmed bookings over the time from the first request to the last confirmation.
            "confirmed_per_s": len(confirmed) / span if span > 0 else 0.0,
            "confirm_p50": percentile(to_confirm, 50), "confirm_p95": percentile(to_confirm, 95),
            "confirm_p99": percentile(to_confirm, 99),
            "wall": self.wall, "cpu_share": self.cpu_share, "polls": self.polls,
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _final(status: int, body: dict[str, Any]) -> str:
    if status == 201:
        return "confirmed"
    if status == 402:
        return "rejected"
    if status == 503 and body.get("code") == "booking-timed-out":
        return "failed"  # the saga's deadline passed: refused, nothing charged (as a 202 that ends `failed`)
    if status == 409:
        return str(body.get("code") or "http-409")
    return f"http-{status}"


def _body(raw: bytes) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class LoadGenerator:
    """One aiohttp session per run; `concurrency` workers take calls from one list in order."""

    def __init__(self, base_url: str, *, concurrency: int,
                 settled: Callable[[], Awaitable[None]] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.settled = settled  # awaited before pending bookings are read back (the platform's sagas end)
        # The monotonic clock is what we time with; the server says when it confirmed in wall-clock time.
        self._wall_minus_mono = time.time() - time.monotonic()

    async def run(self, calls: list[Call]) -> Run:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)  # the workers are the limit
        outcomes = [Outcome(call, 0.0) for call in calls]
        cursor = iter(range(len(calls)))
        async with aiohttp.ClientSession(self.base_url, connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=RESOLVE_TIMEOUT)) as http:

            async def worker() -> None:
                for i in cursor:  # a shared iterator: each call is taken by exactly one worker
                    await self._one(http, outcomes[i])

            cpu0, wall0 = time.process_time(), time.monotonic()
            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(calls)))))
            # CPU share and wall time cover the load itself, not the reading back below.
            run = Run(outcomes, time.monotonic() - wall0, time.process_time() - cpu0)
            if pending := [o for o in outcomes if o.final == "pending"]:
                if self.settled:
                    await self.settled()
                run.polls = await self._resolve(http, pending)
        return run

    async def _one(self, http: aiohttp.ClientSession, out: Outcome) -> None:
        call = out.call
        out.start = time.monotonic()
        try:
            async with http.request(call.method, call.path, headers=call.headers) as response:
                raw = await response.read()
                out.end, out.status = time.monotonic(), response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            out.end, out.final = time.monotonic(), f"error:{type(exc).__name__}"
            return
        if call.method != "POST":
            out.final = f"http-{out.status}"
        elif out.status == 201:
            out.final, out.confirmed = "confirmed", out.end
        elif out.status == 202:
            out.final, out.booking_id = "pending", _body(raw).get("id")
        else:
            out.final = _final(out.status, _body(raw) if out.status >= 400 else {})

    async def _resolve(self, http: aiohttp.ClientSession, pending: list[Outcome]) -> int:
        """Read each pending booking until it is final; returns how many reads it took."""
        gate, reads = asyncio.Semaphore(RESOLVE_CONCURRENCY), 0
        deadline = time.monotonic() + RESOLVE_TIMEOUT

        async def read(out: Outcome) -> None:
            nonlocal reads
            async with gate:
                reads += 1
                try:
                    async with http.get(f"/v1/bookings/{out.booking_id}", headers=out.call.headers) as response:
                        body = _body(await response.read()) if response.status == 200 else {}
                except (aiohttp.ClientError, TimeoutError):
                    return
            if (status := body.get("status")) and status != "pending":
                out.final = status
                if status == "confirmed" and body.get("confirmed_at"):
                    at = datetime.fromisoformat(body["confirmed_at"]).timestamp()
                    out.confirmed = at - self._wall_minus_mono

        while (left := [o for o in pending if o.final == "pending" and o.booking_id]) and time.monotonic() < deadline:
            await asyncio.gather(*(read(o) for o in left))
            if any(o.final == "pending" for o in left):
                await asyncio.sleep(1.0)
        for out in pending:
            if out.final == "pending":
                out.final = "still-pending"
        return reads
