"""JetStream streams and durable consumers, with the inbox and a dead-letter path.

Every service ensures the streams it publishes to and reads from (same
definition everywhere, so whoever starts first creates them). Consumers are
durable pull consumers with explicit acks: replicas of a service share one
consumer, a failed message is redelivered with backoff up to
`max_deliver` times, and then it is parked on the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import Counter

from studio_contracts import STREAMS, Event, EventMeta
from studio_platform import natsclient
from studio_platform.batchfetch import fetch_waiting
from studio_platform.envelope import OutgoingEvent, UndecodableEvent, decode, encode_data
from studio_platform.errors import DomainError
from studio_platform.inbox import STREAM_MAX_AGE_SECONDS, Received
from studio_platform.uow import UnitOfWork

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

DEAD_LETTER_STREAM = "DEADLETTER"
DUPLICATE_WINDOW_SECONDS = 300.0
# How long a pull for messages the server has said are waiting may take: the server answers it at once,
# with what it has; this bounds the wait only if the connection fails meanwhile.
_REST_OF_BATCH_SECONDS = 1.0

HANDLED = Counter("events_handled_total", "Events handled by consumers", ["consumer", "type"])
FAILED = Counter("events_failed_total", "Event handling failures", ["consumer", "type"])
DEAD = Counter("events_dead_lettered_total", "Events parked on the dead-letter stream", ["consumer"])

Handler = Callable[[Any, EventMeta, Any], Awaitable[None]]


@dataclass(frozen=True)
class Batch:
    """A handler that takes, at once, a run of its events that came together: `handle([(event, meta), ...], uow)`.

    For a busy event whose handling can be one statement for many (a saga's answers, say): a consumer's batch
    then costs that statement once rather than once per event. Runs keep stream order; a lone event, or one
    handled on its own after its batch failed, comes as a run of one.
    """

    handle: Callable[[list[tuple[Any, EventMeta]], Any], Awaitable[None]]


async def connect(url: str, *, name: str) -> nats.NATS:
    # A short drain: by shutdown the consumers have left their subscriptions; one left behind (its loop
    # cancelled while it was subscribing) would otherwise hold the shutdown for nats-py's 30 s.
    return await natsclient.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                    drain_timeout=3)


def stream_config(name: str, subjects: list[str]) -> api.StreamConfig:
    return api.StreamConfig(
        name=name,
        subjects=subjects,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=STREAM_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        # Periodic messages (the services' ticks) are JetStream message schedules.
        allow_msg_schedules=True,
    )


async def ensure_streams(js: JetStreamContext, names: Iterable[str]) -> None:
    for name in names:
        subjects = ["deadletter.>"] if name == DEAD_LETTER_STREAM else [STREAMS[name]]
        try:
            info = await js.stream_info(name)
            if not info.config.allow_msg_schedules and name != DEAD_LETTER_STREAM:
                info.config.allow_msg_schedules = True
                await js.update_stream(info.config)
        except NotFoundError:
            try:
                await js.add_stream(stream_config(name, subjects))
            except nats.js.errors.BadRequestError:
                # Another service created it between our look and our add.
                await js.stream_info(name)


async def ensure_repeating_schedule(js: JetStreamContext, event: Event, *, every: str, source: str) -> None:
    """Fire `event` on its subject at every interval (e.g. "@every 1m"), whatever replicas run.

    The schedule lives in the stream, keyed by its holding subject: publishing it
    again (every start of every replica) replaces it rather than adding another.
    """
    holder = f"{event.subject().split('.', 1)[0]}.schedules.{event.subject()}"
    out = OutgoingEvent(id=uuid.uuid4(), type=event.type, source=source, nats_subject=holder, subject=None,
                        time=datetime.now(UTC), organization_id=event.organization_id, data=encode_data(event))
    headers = {**out.headers(), "Nats-Schedule": every, "Nats-Schedule-Target": event.subject()}
    headers.pop("Nats-Msg-Id")
    await js.publish(holder, out.data, headers=headers)


@dataclass
class Subscription:
    """What one service handles from one stream: event class -> handler(event, meta, uow).

    `gather_seconds`: for events nobody waits on, whose handling is one statement for many (snapshots kept
    by version, say), how long to wait after the first message for more, up to `batch_size`, so a busy
    stream is handled in a few big batches rather than many small ones."""

    stream: str
    handlers: Mapping[type[Event], Handler | Batch] = field(default_factory=dict)
    gather_seconds: float = 0.0
    batch_size: int | None = None  # the service's consumer batch size unless set


def _backoff(delivered: int) -> float:
    return min(30.0, 0.5 * 2 ** (delivered - 1))


def _stream_sequence(msg: Msg) -> int:
    return msg.metadata.sequence.stream


@dataclass
class _Delivery:
    """A decoded message this service handles."""

    msg: Msg
    meta: EventMeta
    event: Event
    handler: Handler | Batch

    @property
    def headers(self) -> Mapping[str, str]:
        return self.msg.headers or {}


async def _handle(run: list[_Delivery], uow: UnitOfWork) -> None:
    """Handle a run of deliveries with one handler: a `Batch` all at once, any other one by one."""
    handler = run[0].handler
    if isinstance(handler, Batch):
        await handler.handle([(d.event, d.meta) for d in run], uow)
    else:
        for d in run:
            await handler(d.event, d.meta, uow)


def link_traces(span: trace.Span, deliveries: Iterable[_Delivery]) -> None:
    """Link a batch's span to the trace of each message in it, if the span is recorded: reading every
    message's `traceparent` for a span nobody receives is work for nothing, on every message."""
    if not span.is_recording():
        return
    for d in deliveries:
        context = trace.get_current_span(propagate.extract(d.headers)).get_span_context()
        if context.is_valid:
            span.add_link(context)


class Consumers:
    """Runs a service's subscriptions: one durable pull consumer per stream, one loop each.

    A loop pulls what is waiting (up to `batch_size` messages, without waiting
    for more) and handles it in one transaction: one inbox statement, the
    handlers in stream order (a `Batch` handler takes its run of events at
    once), one outbox write and one commit. If that fails,
    each message is handled on its own, so a bad one is retried or parked
    without holding back the rest. Batches of one consumer run one after
    another, so they never wait on each other's row locks.
    """

    def __init__(
        self,
        *,
        service: str,
        uow_factory: Callable[[], UnitOfWork],
        js: Callable[[], JetStreamContext],
        max_deliver: int = 5,
        ack_wait_seconds: float = 30.0,
        start: str = "all",
        batch_size: int = 32,
        # How long one pull waits for a first message. Short, because nats-py's fetch can, rarely, sit out
        # the rest of it after a message has come (a pull left over from the one before), and an idle
        # consumer's pull a second costs next to nothing.
        pull_seconds: float = 1.0,
    ) -> None:
        self._service = service
        self._uow_factory = uow_factory
        self._js = js
        self._max_deliver = max_deliver
        self._ack_wait = ack_wait_seconds
        self._deliver = api.DeliverPolicy.NEW if start == "new" else api.DeliverPolicy.ALL
        self._batch_size = batch_size
        self._pull_seconds = pull_seconds
        self._stopping = False

    def durable_name(self, stream: str) -> str:
        return f"{self._service}-{stream.lower()}"

    def _config(self, subscription: Subscription) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=self.durable_name(subscription.stream),
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=self._max_deliver,
            deliver_policy=self._deliver,
            # Only the types this service handles are delivered.
            filter_subjects=sorted({cls.subject() for cls in subscription.handlers}),
        )

    async def provision(self, js: JetStreamContext, subscription: Subscription) -> None:
        """Create the durable consumer, or bring an existing one up to date (new handlers, new limits)."""
        try:
            await js.add_consumer(subscription.stream, self._config(subscription))
        except nats.js.errors.BadRequestError as exc:
            # Some settings (where it starts) are fixed once a consumer exists; it keeps working as it was.
            log.warning("consumer %s kept its old settings: %s", self.durable_name(subscription.stream), exc)

    def stop(self) -> None:
        """End every loop after its current pull (a cancellation alone can be lost inside nats-py's wait)."""
        self._stopping = True

    async def run(self, subscription: Subscription) -> None:
        """Pull and handle `subscription`'s messages until stopped; errors are logged, never fatal."""
        durable = self.durable_name(subscription.stream)
        by_type = {cls.type: handler for cls, handler in subscription.handlers.items()}
        try:
            pulls = await self._bind(durable, subscription.stream)
        except nats.errors.ConnectionClosedError:
            return
        if pulls is None:
            return
        batch_size = subscription.batch_size or self._batch_size
        backlog = False
        try:
            while not self._stopping:
                backlog = await self._pull_and_handle(durable, by_type, pulls, batch_size,
                                                      subscription.gather_seconds, backlog)
        except nats.errors.ConnectionClosedError:
            return
        finally:
            # Leaving the subscription behind would hold the connection's drain until its timeout.
            with contextlib.suppress(Exception):
                await pulls.unsubscribe()

    async def _bind(self, durable: str, stream: str) -> JetStreamContext.PullSubscription | None:
        """The consumer's pull subscription, retried until it can be made (NATS may be restarting); None
        when stopped first (a cancellation can be lost inside nats-py's request, so the flag is checked too)."""
        while not self._stopping:
            try:
                return await self._js().pull_subscribe_bind(durable, stream)
            except nats.errors.ConnectionClosedError:
                raise
            except Exception:
                log.exception("subscribing to %s failed; trying again", durable)
                await asyncio.sleep(1.0)
        return None

    async def _pull_and_handle(self, durable: str, by_type: Mapping[str, Handler | Batch],
                               pulls: JetStreamContext.PullSubscription, batch_size: int, gather: float,
                               backlog: bool) -> bool:
        """Pull a batch and handle it; True when more messages were waiting behind it."""
        try:
            msgs = await self._pull(pulls, batch_size, gather, backlog)
        except TimeoutError:  # nothing waiting (nats-py raises its own TimeoutError or asyncio's)
            return False
        except nats.errors.ConnectionClosedError:
            raise
        except Exception:
            log.exception("pulling from %s failed; trying again", durable)
            await asyncio.sleep(1.0)
            return False
        try:
            await self._handle_batch(durable, by_type, msgs)
        except Exception:
            log.exception("handling a batch on %s failed; its messages come back after ack_wait", durable)
        return msgs[-1].metadata.num_pending > 0

    async def _pull(self, pulls: JetStreamContext.PullSubscription, batch_size: int, gather: float,
                    backlog: bool) -> list[Msg]:
        """The first message as soon as it comes, with those waiting behind it (or, when gathering, those that
        come within `gather` seconds), up to the batch size.

        nats-py's fetch of several messages can hold the first until its pull expires, waiting for
        more; so one message is pulled first, and the rest only as many as the server says are waiting.
        When messages were waiting behind the last batch (`backlog`), the next is asked for at once instead, in
        one pull that the server answers with what it has: under load, one round trip a batch instead of two.
        """
        if backlog and gather <= 0:
            if msgs := await fetch_waiting(pulls, batch_size, _REST_OF_BATCH_SECONDS):
                return msgs
        msgs = await pulls.fetch(batch=1, timeout=self._pull_seconds)
        if gather > 0:
            await asyncio.sleep(gather)
            waiting = batch_size - 1  # whatever has come meanwhile
        else:
            waiting = min(msgs[-1].metadata.num_pending, batch_size - 1)
        if waiting > 0:
            # A pull without expiry: the server answers at once with what it has, fewer if another replica took
            # some first (with one, it would hold the pull open for the rest until it expired).
            msgs += await fetch_waiting(pulls, waiting, _REST_OF_BATCH_SECONDS)
        return msgs

    async def _handle_batch(self, durable: str, by_type: Mapping[str, Handler | Batch], msgs: list[Msg]) -> None:
        msgs = sorted(msgs, key=_stream_sequence)
        deliveries = [d for d in [await self._decode(durable, by_type, msg) for msg in msgs] if d is not None]
        if len(deliveries) > 1:
            try:
                await self._handle_together(durable, deliveries)
            except Exception as exc:
                log.info("a batch of %d on %s failed (%r); handling them one by one", len(deliveries), durable, exc)
            else:
                for d in deliveries:
                    HANDLED.labels(durable, d.meta.type).inc()
                    await d.msg.ack()
                return
        for d in deliveries:
            await self._handle_one(durable, d)

    async def _decode(self, durable: str, by_type: Mapping[str, Handler | Batch], msg: Msg) -> _Delivery | None:
        """The message to handle, or None when it is settled here (not ours, or undecodable)."""
        headers = msg.headers or {}
        handler = by_type.get(headers.get("ce-type", "?"))
        if handler is None:
            await msg.ack()  # another version or type on the same subject: not ours
            return None
        try:
            meta, event = decode(headers, msg.data)
        except UndecodableEvent as exc:
            await self._dead_letter(durable, msg, str(exc))
            await msg.term()
            return None
        if event is None:
            await msg.ack()
            return None
        return _Delivery(msg, meta, event, handler)

    @staticmethod
    def _received(deliveries: list[_Delivery]) -> list[Received]:
        return [Received(d.meta.id, d.event.organization_id, d.meta.type) for d in deliveries if d.event.inbox]

    async def _handle_together(self, durable: str, deliveries: list[_Delivery]) -> None:
        with tracer.start_as_current_span(f"{durable} batch", kind=trace.SpanKind.CONSUMER,
                                          attributes={"messaging.batch.message_count": len(deliveries)}) as span:
            link_traces(span, deliveries)
            async with self._uow_factory() as uow:
                fresh = await uow.claim_inbox(durable, self._received(deliveries))
                todo = []
                for d in deliveries:
                    if d.event.inbox:
                        if d.meta.id not in fresh:
                            continue
                        fresh.discard(d.meta.id)  # a second copy in the same batch is a repeat
                    todo.append(d)
                for _, run in itertools.groupby(todo, key=lambda d: d.handler):
                    await _handle(list(run), uow)
                await uow.commit()

    async def _handle_one(self, durable: str, d: _Delivery) -> None:
        ce_type = d.meta.type
        token = otel_context.attach(propagate.extract(d.headers))
        try:
            with tracer.start_as_current_span(f"{durable} {ce_type}", kind=trace.SpanKind.CONSUMER):
                async with self._uow_factory() as uow:
                    if not d.event.inbox or await uow.claim_inbox(durable, self._received([d])):
                        await _handle([d], uow)
                    await uow.commit()
            HANDLED.labels(durable, ce_type).inc()
            await d.msg.ack()
        except DomainError as exc:
            # A rule said no: retrying cannot change the answer.
            FAILED.labels(durable, ce_type).inc()
            await self._dead_letter(durable, d.msg, f"{type(exc).__name__}: {exc.detail}")
            await d.msg.term()
        except Exception as exc:
            FAILED.labels(durable, ce_type).inc()
            delivered = d.msg.metadata.num_delivered
            if delivered >= self._max_deliver:
                log.exception("giving up on %s %s after %d deliveries", ce_type, d.meta.id, delivered)
                await self._dead_letter(durable, d.msg, repr(exc))
                await d.msg.term()
            else:
                log.warning("retrying %s %s (delivery %d): %r", ce_type, d.meta.id, delivered, exc)
                await d.msg.nak(delay=_backoff(delivered))
        finally:
            otel_context.detach(token)

    async def _dead_letter(self, durable: str, raw: Msg, reason: str) -> None:
        DEAD.labels(durable).inc()
        headers = dict(raw.headers or {})
        headers.pop("Nats-Msg-Id", None)
        headers["x-dead-letter-reason"] = reason[:1000]
        headers["x-original-subject"] = raw.subject
        await self._js().publish(f"deadletter.{durable}", raw.data, headers=headers)
