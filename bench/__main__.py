"""`make bench` (`python -m bench [--scale 0.1] [--only flash|steady]`): the booking benchmark.

The platform (every service and the gateway, as processes) and the baseline (one app, one
database, one transaction per booking) run side by side on this machine, on the same
PostgreSQL and the same data, driven by the same load generator with the same requests:

- flash sale: every client (one credit each) books the one class of 20 at concurrency 200;
- steady: each client books 10 classes of 50 (20,000 bookings at full scale), concurrency 64.

Each run starts when the machine is quiet again, baseline first; the steady scenario runs in halves,
baseline, platform, platform, baseline, so that a drift in the machine's speed favours neither. Exit
status 1 only when a correctness check fails; the performance targets are reported, met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.baseline import app as baseline
from bench.loadgen import Call, LoadGenerator, Run, percentile
from bench.procs import Meter, cpu_seconds
from bench.studio import Studio, issue_packs, open_studio
from devstack.infra import Infra, drop_databases, ensure_databases, free_port
from devstack.invariants import violations, wait_until_settled
from devstack.stack import ROOT, Stack
from studio_platform.db import plain_url

FLASH_CLIENTS, FLASH_CONCURRENCY = 2000, 200
STEADY_BOOKINGS, STEADY_CLASSES, STEADY_CONCURRENCY, PER_CLIENT = 20_000, 500, 64, 10
PROXY_SAMPLES = 300
# Refusals a booking may end in; anything else (5xx, no answer, still pending) breaks the steady check.
# `failed` is the saga's deadline passing: the client is told nothing was charged and the seat is
# freed, so it is a refusal, but one the table shows on its own line.
REFUSED = {"rejected", "class-full", "already-booked", "failed"}
PLATFORM_ENV = {
    "LOG_LEVEL": "WARNING",
    "CONSUMER_START": "new",  # a shared NATS's old events are not this stack's
    # Every simulated client comes from 127.0.0.1 and the owner makes thousands of calls.
    "RATE_LIMIT_AUTH": "1000000/minute", "RATE_LIMIT_DEFAULT": "1000000/minute",
    "RATE_LIMIT_BOOKING": "1000000/minute",
    # The tokens made during setup must outlive the whole run (15 minutes by default).
    "ACCESS_TOKEN_TTL_SECONDS": "14400",
}


@contextmanager
def phase(name: str) -> Iterator[None]:
    print(f"\n== {name}", flush=True)
    started = time.monotonic()
    yield
    print(f"   ({name}: {time.monotonic() - started:.1f} s)", flush=True)


class BaselineServer:
    """The baseline app under uvicorn, like the services: one process (uvloop, httptools), no access log."""

    def __init__(self, database_url: str, logs: Path) -> None:
        self.database_url, self.port, self.logs = database_url, free_port(), logs
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / "baseline.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "bench.baseline.app:create_app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-access-log", "--timeout-graceful-shutdown", "5"],
                cwd=ROOT, env={**os.environ, "DATABASE_URL": self.database_url}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    async def ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(f"{self.url}/readyz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the baseline did not start; see {self.logs / 'baseline.log'}")
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Part:
    """A run of calls by one system, with the CPU seconds each process spent over `window` seconds."""

    run: Run
    spent: dict[str, float]
    window: float


class Bench:
    def __init__(self, stack: Stack, base: BaselineServer, args: argparse.Namespace) -> None:
        self.stack, self.base, self.args = stack, base, args
        self.meter = Meter()
        for name, process in stack.processes.items():
            self.meter.process(name, process.pid)
        self.meter.postgres(stack.database_url)
        self.meter.process("loadgen", os.getpid())
        self.failures: list[str] = []
        self.results: dict[str, dict[str, dict[str, Any]]] = {}  # scenario -> system -> figures

    def check(self, ok: bool, what: str) -> None:
        print(f"   [{'ok' if ok else 'FAILED'}] {what}")
        if not ok:
            self.failures.append(what)

    async def quiet(self, timeout: float = 120.0) -> None:
        """Wait until the systems under test are idle (the platform's consumers drain events for a while)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = self.meter.take()
            await asyncio.sleep(1.0)
            spent = self.meter.since(before)
            if sum(v for k, v in spent.items() if k not in ("other", "loadgen")) < 0.10:
                break
        if (waited := time.monotonic() - started) > 1.5:
            print(f"   (waited {waited:.0f} s for the systems under test to go idle)")

    async def drive(self, system: str, url: str, calls: list[Call], concurrency: int, org: uuid.UUID,
                    part: str = "") -> Part:
        """One run of `calls`, with the CPU each process spent on it (the work it left behind included)."""
        await self.quiet()
        settled = None
        if system == "platform":  # 202s are read back once booking has no pending saga left
            settled = partial(wait_until_settled, self.stack.databases["booking"], org, timeout=900)
        before, window = self.meter.take(), time.monotonic()
        run = await LoadGenerator(url, concurrency=concurrency, settled=settled).run(calls)
        await self.quiet()  # the work the run left behind (events still being consumed) counts too
        spent, window = self.meter.since(before), time.monotonic() - window
        if part:
            print(f"   {system:<9} {part}: {len(calls)} requests in {run.wall:.1f} s, "
                  f"{run.summary()['confirmed_per_s']:.0f} confirmed per second, "
                  f"{sum(v for k, v in spent.items() if k != 'other') / len(calls) * 1000:.2f} ms of CPU each")
        return Part(run, spent, window)

    def record(self, scenario: str, system: str, parts: list[Part]) -> Run:
        """The figures of a system's run in a scenario (its parts joined), printed and kept for the table."""
        run = Run.joined([p.run for p in parts])
        spent = {name: sum(p.spent.get(name, 0.0) for p in parts) for name in parts[0].spent}
        figures = run.summary()
        figures["cpu"] = spent
        figures["others"] = spent["other"] / (sum(p.window for p in parts) * (os.cpu_count() or 1))
        self.results.setdefault(scenario, {})[system] = figures
        # Shared machines happen: say how much of it other processes took meanwhile.
        others = figures["others"]
        print(f"   {system:<9} {len(run.outcomes)} requests in {run.wall:.1f} s: {figures['finals']}; "
              f"answer p99 {figures['answer_p99'] * 1000:.0f} ms; loadgen CPU {run.cpu_share:.0%}; "
              f"other processes took {others:.0%} of the machine")
        # Which answers make the tail: a sale's winners wait for their credit, the rest are refused.
        by_final: dict[str, list[float]] = {}
        for outcome in run.outcomes:
            if outcome.status:
                by_final.setdefault(outcome.final, []).append(outcome.latency)
        print("             answer p50/p99 by outcome: " + "; ".join(
            f"{final} {percentile(times, 50) * 1000:.0f}/{percentile(times, 99) * 1000:.0f} ms"
            for final, times in sorted(by_final.items())))
        return run

    # --- scenarios ---------------------------------------------------------------------------------

    async def warm_up(self, studio: Studio) -> None:
        """Cheap reads at the runs' concurrency, so both systems open their database pools before they count."""
        calls = [Call("GET", f"/v1/classes/{lesson.id}/availability", studio.clients[i % len(studio.clients)].headers)
                 for i, lesson in enumerate([studio.flash, *studio.steady] * 2)][:1000]
        for url in (self.base.url, self.stack.gateway_url):
            await LoadGenerator(url, concurrency=FLASH_CONCURRENCY).run(calls)

    async def proxy_cost(self, studio: Studio) -> None:
        """The same cheap GET straight to booking and through the gateway, one at a time and alternating
        (so whatever else the machine does weighs on both alike); the gateway's CPU is read around each
        of its requests."""
        path = f"/v1/classes/{studio.flash.id}/availability"
        headers = studio.clients[0].headers
        gateway_pid = self.stack.processes["gateway"].pid
        latency: dict[str, list[float]] = {"direct": [], "gateway": []}
        gateway_cpu = 0.0
        async with aiohttp.ClientSession() as http:
            for i in range(PROXY_SAMPLES + 20):  # the first 20 rounds warm the connections up
                for name, url in (("direct", self.stack.url("booking")), ("gateway", self.stack.gateway_url)):
                    cpu0, started = cpu_seconds(gateway_pid), time.perf_counter()
                    async with http.get(url + path, headers=headers) as response:
                        await response.read()
                    if i >= 20:
                        latency[name].append(time.perf_counter() - started)
                        gateway_cpu += cpu_seconds(gateway_pid) - cpu0 if name == "gateway" else 0.0
                    if response.status != 200:
                        self.check(False, f"availability through {name} answered {response.status}")
        mean = {name: sum(values) / len(values) for name, values in latency.items()}
        p50 = {name: percentile(values, 50) for name, values in latency.items()}
        self.proxy = {"mean": mean, "p50": p50, "gateway_cpu": gateway_cpu / PROXY_SAMPLES}
        print(f"   GET availability, mean (p50): direct {mean['direct'] * 1000:.2f} ms ({p50['direct'] * 1000:.2f}), "
              f"through the gateway {mean['gateway'] * 1000:.2f} ms ({p50['gateway'] * 1000:.2f}): the hop adds "
              f"{(mean['gateway'] - mean['direct']) * 1000:.2f} ms; gateway CPU "
              f"{gateway_cpu / PROXY_SAMPLES * 1000:.2f} ms per request")

    async def flash(self, studio: Studio, base_db: str) -> None:
        lots = await issue_packs(self.stack.gateway_url, studio, "flash")
        await baseline.load(base_db, lots=[(pkg, studio.org, client, credits, expires)
                                           for pkg, client, credits, expires in lots])
        lesson = studio.flash
        calls = [Call("POST", f"/v1/classes/{lesson.id}/bookings", c.headers, key=c.id) for c in studio.clients]
        for system, url in (("baseline", self.base.url), ("platform", self.stack.gateway_url)):
            run = self.record("flash", system, [await self.drive(system, url, calls, FLASH_CONCURRENCY, studio.org)])
            self.check(run.count("confirmed") == lesson.capacity,
                       f"{system}: exactly {lesson.capacity} confirmed (got {run.count('confirmed')})")
        await self.invariants(studio, base_db)

    async def steady(self, studio: Studio, base_db: str) -> None:
        lots = await issue_packs(self.stack.gateway_url, studio, "steady")
        await baseline.load(base_db, lots=[(pkg, studio.org, client, credits, expires)
                                           for pkg, client, credits, expires in lots])
        clients, classes = studio.clients, studio.steady
        bookings = round(STEADY_BOOKINGS * self.args.scale)
        # Client c's k-th booking is class (c + k * stride): ten different classes each, spread evenly.
        stride = max(1, len(classes) // PER_CLIENT)
        plan = [(clients[j % len(clients)], classes[(j % len(clients) + j // len(clients) * stride) % len(classes)])
                for j in range(bookings)]
        random.Random(7).shuffle(plan)  # the same order for both systems
        calls = [Call("POST", f"/v1/classes/{lesson.id}/bookings", c.headers, key=(c.id, lesson.id))
                 for c, lesson in plan]
        # In halves, baseline, platform, platform, baseline: a machine whose speed drifts while the scenario
        # runs (a shared host's often does, by a tenth over a minute or two) then favours neither system.
        urls = {"baseline": self.base.url, "platform": self.stack.gateway_url}
        halves = {"first half": calls[:len(calls) // 2], "second half": calls[len(calls) // 2:]}
        parts: dict[str, list[Part]] = {"baseline": [], "platform": []}
        for system, half in (("baseline", "first half"), ("platform", "first half"), ("platform", "second half"),
                             ("baseline", "second half")):
            parts[system].append(await self.drive(system, urls[system], halves[half], STEADY_CONCURRENCY,
                                                  studio.org, half))
        for system in ("baseline", "platform"):
            run = self.record("steady", system, parts[system])
            odd = {o.final for o in run.outcomes} - REFUSED - {"confirmed"}
            timed_out = f", {run.count('failed')} of them as timed out" if run.count("failed") else ""
            self.check(not odd, f"{system}: every booking ended confirmed or refused{timed_out}"
                       + (f" (also: {sorted(odd)})" if odd else ""))
        await self.invariants(studio, base_db)

    async def invariants(self, studio: Studio, base_db: str) -> None:
        urls = self.stack.databases
        await wait_until_settled(urls["booking"], studio.org, timeout=120)
        await asyncio.sleep(0.5)  # the last credit commands land in billing
        found = await violations(urls["booking"], urls["billing"], studio.org)
        self.check(not found, "platform: no overbooking, every saga final, every credit accounted for"
                   + "".join(f"\n        {v}" for v in found[:10]))
        found = await baseline.violations(base_db)
        self.check(not found, "baseline: no overbooking, every credit accounted for"
                   + "".join(f"\n        {v}" for v in found[:10]))

    async def run(self) -> None:
        scale = self.args.scale
        clients, classes = max(1, round(FLASH_CLIENTS * scale)), max(1, round(STEADY_CLASSES * scale))
        with phase(f"setup through the gateway: {clients} clients, {classes + 1} classes"):
            studio = await open_studio(self.stack.gateway_url, clients=clients, steady_classes=classes)
            for step, seconds in studio.timings.items():
                print(f"   {step}: {seconds:.1f} s")
        with phase("baseline: schema, the same classes, start"):
            base_db = self.base.database_url
            await baseline.create_schema(base_db)
            await baseline.load(base_db, classes=[(c.id, studio.org, c.capacity, c.starts_at, c.ends_at)
                                                  for c in (studio.flash, *studio.steady)])
            self.base.spawn()  # Popen returns at once: no need to leave the loop
            await self.base.ready()
            self.meter.process("baseline", self.base.process.pid if self.base.process else None)
        with phase("warm-up and gateway proxy cost"):
            await self.warm_up(studio)
            await self.quiet()
            await self.proxy_cost(studio)
        if self.args.only in (None, "flash"):
            with phase(f"flash sale: {clients} clients, one class of {studio.flash.capacity}, "
                       f"concurrency {FLASH_CONCURRENCY}"):
                await self.flash(studio, base_db)
        if self.args.only in (None, "steady"):
            with phase(f"steady: {round(STEADY_BOOKINGS * scale)} bookings, {classes} classes, "
                       f"concurrency {STEADY_CONCURRENCY}"):
                await self.steady(studio, base_db)
        self.report()

    # --- the table ---------------------------------------------------------------------------------

    def report(self) -> None:
        print("\n== results (ms; CPU in ms per request, summed over the run)")
        rows: list[tuple[str, str, str, str]] = []

        def row(label: str, p: float | str, b: float | str, fmt: str = "{:.1f}") -> None:
            show = [fmt.format(v) if isinstance(v, float | int) else v for v in (p, b)]
            ratio = f"{p / b:.2f}x" if isinstance(p, float | int) and isinstance(b, float | int) and b else ""
            rows.append((label, *show, ratio))

        for scenario, systems in self.results.items():
            p, b = systems.get("platform"), systems.get("baseline")
            if not (p and b):
                continue
            rows.append((f"-- {scenario}", "platform", "baseline", "ratio"))
            row("requests", p["requests"], b["requests"], "{}")
            for final in sorted(set(p["finals"]) | set(b["finals"])):
                row(f"  {final}", p["finals"].get(final, 0), b["finals"].get(final, 0), "{}")
            row("answers per second", p["answers_per_s"], b["answers_per_s"])
            for q in ("p50", "p95", "p99"):
                row(f"time to answer {q}", p[f"answer_{q}"] * 1000, b[f"answer_{q}"] * 1000)
            row("confirmed per second", p["confirmed_per_s"], b["confirmed_per_s"])
            for q in ("p50", "p95", "p99"):
                row(f"request to confirmed {q}", p[f"confirm_{q}"] * 1000, b[f"confirm_{q}"] * 1000)
            row("wall time (s)", p["wall"], b["wall"])
            row("loadgen CPU share", f"{p['cpu_share']:.0%}", f"{b['cpu_share']:.0%}")
            row("machine taken by others", f"{p['others']:.0%}", f"{b['others']:.0%}")
            row("pending bookings read back", p["polls"], b["polls"], "{}")
            for part in sorted(set(p["cpu"]) | set(b["cpu"]), key=lambda k: -p["cpu"].get(k, 0)):
                row(f"CPU {part}", p["cpu"].get(part, 0) / p["requests"] * 1000,
                    b["cpu"].get(part, 0) / b["requests"] * 1000, "{:.2f}")
            row("CPU all of ours", sum(v for k, v in p["cpu"].items() if k != "other") / p["requests"] * 1000,
                sum(v for k, v in b["cpu"].items() if k != "other") / b["requests"] * 1000, "{:.2f}")
        width = max(len(r[0]) for r in rows) if rows else 10
        for label, *cells in rows:
            print(f"{label:<{width}}  " + "  ".join(f"{c:>10}" for c in cells))

        print("\n== targets")
        if hasattr(self, "proxy"):
            mean = self.proxy["mean"]
            print(f"gateway proxy cost: +{(mean['gateway'] - mean['direct']) * 1000:.2f} ms mean latency per request "
                  f"(one at a time), {self.proxy['gateway_cpu'] * 1000:.2f} ms gateway CPU per request")
        if flash := self.results.get("flash"):
            p, b = flash["platform"]["answer_p99"], flash["baseline"]["answer_p99"]
            verdict = "MET" if p <= b else f"MISSED by {(p - b) * 1000:.0f} ms ({p / b:.1f}x the baseline's)"
            print(f"flash sale, p99 time to an answer no worse than the baseline's: platform {p * 1000:.0f} ms, "
                  f"baseline {b * 1000:.0f} ms: {verdict}")
        if steady := self.results.get("steady"):
            p, b = steady["platform"]["confirmed_per_s"], steady["baseline"]["confirmed_per_s"]
            verdict = "MET" if p >= b / 2 else f"MISSED: {p / b:.0%} of the baseline's, {b / 2 - p:.0f}/s short"
            print(f"steady, confirmed bookings per second at least half the baseline's: platform {p:.0f}/s, "
                  f"baseline {b:.0f}/s ({p / b:.0%}): {verdict}")
            if failed := steady["platform"]["finals"].get("failed"):
                print(f"steady: {failed} platform bookings timed out (saga deadline) and were refused")
            print(f"steady, p99 request to confirmed: platform {steady['platform']['confirm_p99'] * 1000:.0f} ms, "
                  f"baseline {steady['baseline']['confirm_p99'] * 1000:.0f} ms")


def describe_machine(database_url: str) -> None:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())

    async def server() -> str:
        conn = await asyncpg.connect(plain_url(database_url))
        try:
            return f"PostgreSQL {await conn.fetchval('SHOW server_version')}, fsync {await conn.fetchval('SHOW fsync')}"
        finally:
            await conn.close()

    print(f"machine: {os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
          f"{asyncio.run(server())}, load average {os.getloadavg()[0]:.2f} at start")


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full load (0.1 for a quick run)")
    parser.add_argument("--only", choices=["flash", "steady"], help="run one scenario")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    started, tag = time.monotonic(), uuid.uuid4().hex[:6]
    failures = ["interrupted"]
    try:
        with Infra(state) as infra:
            print(f"infrastructure: {', '.join(infra.started) or 'none'} started, the rest from the environment "
                  f"({time.monotonic() - started:.1f} s)")
            describe_machine(infra.database_url)
            stack = Stack(nats_url=infra.nats_url, database_url=infra.database_url, state_dir=state,
                          database_prefix=f"bench_{tag}_", durable_prefix=f"bench{tag}-", extra_env=PLATFORM_ENV)
            base_name = f"bench_{tag}_baseline"
            base = BaselineServer(ensure_databases(infra.database_url, [base_name])[base_name], state / "logs")
            try:
                with phase("platform: migrations and processes"):
                    stack.start()
                bench = Bench(stack, base, args)
                asyncio.run(bench.run())
                failures = bench.failures
            finally:
                base.stop()
                stack.stop()
                if "postgres" not in infra.started:  # the environment's server: leave it as we found it
                    drop_databases(infra.database_url,
                                   [base_name, *(url.rsplit("/", 1)[1] for url in stack.databases.values())])
    finally:
        print(f"\ntotal wall time {time.monotonic() - started:.0f} s")
        if failures:
            print(f"CORRECTNESS FAILED: {'; '.join(failures)}\nlogs kept in {state / 'logs'}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
