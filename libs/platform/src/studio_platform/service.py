"""Builds a service's FastAPI app: database, bus, outbox relay, consumers, auth, health, problems.

Each service's `app.py` is its composition root and calls `build_service_app`
with its own settings, routers, unit of work and subscriptions. The consumers'
pull loops, the outbox relay and any background work run inside the FastAPI
lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from nats.js import JetStreamContext

from studio_contracts import Event
from studio_platform.auth import TokenVerifier
from studio_platform.bus import (
    DEAD_LETTER_STREAM,
    Consumers,
    Subscription,
    connect,
    ensure_repeating_schedule,
    ensure_streams,
)
from studio_platform.db import make_engine
from studio_platform.health import health_router
from studio_platform.outbox import OutboxRelay
from studio_platform.problems import install_problem_handlers
from studio_platform.settings import ServiceSettings
from studio_platform.telemetry import RequestContextMiddleware, setup_logging, setup_tracing
from studio_platform.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    settings: ServiceSettings
    uow_class: type[UnitOfWork]
    publishes: Sequence[str] = ()
    routers: Sequence[APIRouter] = ()
    subscriptions: Sequence[Subscription] = ()
    # Extra work that lives as long as the app (e.g. a job worker); started after the bus.
    background: Sequence[Callable[[FastAPI], Awaitable[None]]] = field(default_factory=tuple)
    # (event, JetStream schedule spec such as "@every 1m"): periodic work, fired on the service's own subscription.
    repeating: Sequence[tuple[Event, str]] = ()
    run_relay: bool = True
    # (middleware class, options), applied inside request ids and metrics.
    middleware: Sequence[tuple[type, dict[str, Any]]] = ()


async def _keep_repeating(js: JetStreamContext, event: Event, every: str, source: str) -> None:
    """Put the repeating schedule in its stream (replicas replace it rather than add one); retry until NATS takes it."""
    delay = 0.5
    while True:
        try:
            await ensure_repeating_schedule(js, event, every=every, source=source)
            return
        except Exception:
            log.exception("could not schedule %s; retrying in %.1fs", event.type, delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)


async def _wait_for_background(tasks: list[asyncio.Task[None]], seconds: float = 5.0) -> None:
    """Let cancelled background tasks finish, but not for ever: one that ignores its cancellation (nats-py
    can swallow one while it waits) is named in the log with where it is, and left behind."""
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=seconds)
    for task in stuck:
        where = "; ".join(f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})"
                          for frame in task.get_stack())
        log.error("background task %s did not stop within %.0f s of shutdown: %s", task.get_name(), seconds, where)


async def _check_database(request: Request) -> None:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def _check_nats(request: Request) -> None:
    nc = request.app.state.nats
    if not nc.is_connected:
        raise ConnectionError("NATS is not connected")
    await nc.jetstream().account_info()


# Objects allocated (net) between two collections of the youngest generation; Python's default is 700.
YOUNG_COLLECTION_EVERY = 10_000


@contextlib.contextmanager
def garbage_collector_tuned() -> Iterator[None]:
    """While serving: leave what start-up built (modules, routes, tables, pools, clients) out of later garbage
    collections, and collect the young generation less often.

    Garbage collection took a sixth of booking's CPU under load. Nearly all of a service's heap is made at
    start-up and lives as long as the process, yet the cyclic collector went through all of it at every full
    collection; freezing it took that to a tenth. And a request makes thousands of short-lived objects
    (coroutines, futures, rows) that refcounting frees: with the default threshold the collector still looked
    at them a few hundred times a second, for the few cycles among them; the higher one takes the rest away.
    What is garbage already is collected first, so nothing dead is kept. Afterwards the heap and the threshold
    are handed back, for a process that goes on (a test run).
    """
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def build_service_app(defn: ServiceDefinition) -> FastAPI:
    settings = defn.settings
    setup_logging(defn.name, level=settings.log_level, json_logs=settings.log_json)
    setup_tracing(defn.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                             max_overflow=settings.db_max_overflow)
        # The bus side (consumers, outbox relay) has connections of its own, so the saga's next step
        # never queues for a connection behind a burst of client requests.
        bus_engine = make_engine(settings.database_url, pool_size=settings.db_bus_pool_size, max_overflow=0)
        app.state.engine = engine
        app.state.token_verifier = TokenVerifier(issuer=settings.auth_issuer, audience=settings.auth_audience,
                                                 jwks_url=settings.auth_jwks_url, jwks=settings.auth_jwks)
        nc = await connect(settings.nats_url, name=defn.name)
        app.state.nats = nc
        js = nc.jetstream()
        await ensure_streams(js, {*defn.publishes, *(s.stream for s in defn.subscriptions), DEAD_LETTER_STREAM})
        # Every replica's commits ring the one relay that leads (see outbox.py).
        relay = OutboxRelay(bus_engine, nc, name=defn.name, poll_seconds=settings.outbox_poll_seconds,
                            wake_subject=f"_studio.{settings.durable_prefix}{defn.name}.outbox")
        source = f"/services/{defn.name}"
        app.state.uow = lambda: defn.uow_class(engine, source=source, on_events=relay.ring)

        consumers = Consumers(service=settings.durable_prefix + defn.name,
                              uow_factory=lambda: defn.uow_class(bus_engine, source=source, on_events=relay.ring),
                              js=lambda: js,
                              max_deliver=settings.consumer_max_deliver,
                              ack_wait_seconds=settings.consumer_ack_wait_seconds,
                              start=settings.consumer_start, batch_size=settings.consumer_batch_size)
        tasks: list[asyncio.Task[None]] = []
        for subscription in defn.subscriptions:
            await consumers.provision(js, subscription)
            tasks.append(asyncio.create_task(consumers.run(subscription),
                                             name=consumers.durable_name(subscription.stream)))
        if defn.run_relay:
            tasks.append(asyncio.create_task(relay.run(), name=f"{defn.name}-outbox-relay"))
        tasks.extend(asyncio.create_task(_keep_repeating(js, event, every, source),
                                         name=f"{defn.name}-schedule-{event.type}")
                     for event, every in defn.repeating)
        tasks.extend(asyncio.create_task(job(app), name=f"{defn.name}-{getattr(job, '__name__', 'job')}")
                     for job in defn.background)
        log.info("%s started", defn.name)
        try:
            with garbage_collector_tuned():
                yield
        finally:
            consumers.stop()
            for task in tasks:
                task.cancel()
            await _wait_for_background(tasks)
            await nc.drain()
            await engine.dispose()
            await bus_engine.dispose()

    # FastAPI's own telemetry stays off: RequestContextMiddleware makes the request's one span (which the
    # bus's spans and the logs' trace ids follow).
    app = FastAPI(title=defn.title, description=defn.description, version="1.0.0", lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(health_router({"database": _check_database, "nats": _check_nats}))
    for router in defn.routers:
        app.include_router(router)
    for middleware, options in defn.middleware:
        app.add_middleware(middleware, **options)
    app.add_middleware(RequestContextMiddleware)
    return app
