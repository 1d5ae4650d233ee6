"""JetStream streams and durable consumers, with the inbox and a dead-letter path.

Every service ensures the streams it publishes to and reads from (same
definition everywhere, so whoever starts first creates them). Consumers are
durable pull consumers with explicit acks: replicas of a service share one
consumer, a failed message is redelivered with backoff up to
`max_deliver` times, and then it is parked on the dead-letter stream.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import Counter

from studio_contracts import STREAMS, Event, EventMeta
from studio_platform.envelope import OutgoingEvent, UndecodableEvent, decode, encode_data
from studio_platform.errors import DomainError
from studio_platform.inbox import STREAM_MAX_AGE_SECONDS
from studio_platform.uow import UnitOfWork

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

DEAD_LETTER_STREAM = "DEADLETTER"
DUPLICATE_WINDOW_SECONDS = 300.0

HANDLED = Counter("events_handled_total", "Events handled by consumers", ["consumer", "type"])
FAILED = Counter("events_failed_total", "Event handling failures", ["consumer", "type"])
DEAD = Counter("events_dead_lettered_total", "Events parked on the dead-letter stream", ["consumer"])

Handler = Callable[[Any, EventMeta, Any], Awaitable[None]]


async def connect(url: str, *, name: str) -> nats.NATS:
    return await nats.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5)


def stream_config(name: str, subjects: list[str]) -> api.StreamConfig:
    return api.StreamConfig(
        name=name,
        subjects=subjects,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=STREAM_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        # Delayed and periodic messages (saga deadlines, periodic jobs) are JetStream message schedules.
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
    """What one service handles from one stream: event class -> handler(event, meta, uow)."""

    stream: str
    handlers: Mapping[type[Event], Handler] = field(default_factory=dict)


def _backoff(delivered: int) -> float:
    return min(30.0, 0.5 * 2 ** (delivered - 1))


class Consumers:
    """Registers a service's subscriptions on a FastStream broker."""

    def __init__(
        self,
        broker: NatsBroker,
        *,
        service: str,
        uow_factory: Callable[[], UnitOfWork],
        js: Callable[[], JetStreamContext],
        max_deliver: int = 5,
        ack_wait_seconds: float = 30.0,
        start: str = "all",
        concurrency: int = 1,
    ) -> None:
        self._broker = broker
        self._service = service
        self._uow_factory = uow_factory
        self._js = js
        self._max_deliver = max_deliver
        self._ack_wait = ack_wait_seconds
        self._deliver = api.DeliverPolicy.NEW if start == "new" else api.DeliverPolicy.ALL
        self._concurrency = concurrency

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

    def register(self, subscription: Subscription) -> None:
        durable = self.durable_name(subscription.stream)
        by_type = {cls.type: handler for cls, handler in subscription.handlers.items()}
        config = self._config(subscription)

        @self._broker.subscriber(
            durable=durable,
            stream=JStream(subscription.stream, declare=False),
            # One message per pull: a larger batch makes an idle consumer wait out the pull's
            # timeout for more before handling the first (nats-py fills the batch), adding latency.
            pull_sub=PullSub(batch_size=1, timeout=5.0),
            config=config,
            max_workers=self._concurrency,
            ack_policy=AckPolicy.MANUAL,
            title=durable,
        )
        async def consume(body: Any, msg: NatsMessage) -> None:  # body unused: we decode the raw message
            await self._handle(durable, by_type, msg)

    async def _handle(self, durable: str, by_type: Mapping[str, Handler], msg: NatsMessage) -> None:
        raw = msg.raw_message
        headers = raw.headers or {}
        ce_type = headers.get("ce-type", "?")
        handler = by_type.get(ce_type)
        if handler is None:
            await msg.ack()  # another version or type on the same subject: not ours
            return
        try:
            meta, event = decode(headers, raw.data)
        except UndecodableEvent as exc:
            await self._dead_letter(durable, raw, str(exc))
            await msg.reject()
            return
        if event is None:
            await msg.ack()
            return
        token = otel_context.attach(propagate.extract(headers))
        try:
            with tracer.start_as_current_span(f"{durable} {ce_type}", kind=trace.SpanKind.CONSUMER):
                async with self._uow_factory() as uow:
                    if not event.inbox or await uow.claim_inbox(
                            consumer=durable, event_id=meta.id, organization_id=event.organization_id,
                            event_type=meta.type):
                        await handler(event, meta, uow)
                    await uow.commit()
            HANDLED.labels(durable, ce_type).inc()
            await msg.ack()
        except DomainError as exc:
            # A rule said no: retrying cannot change the answer.
            FAILED.labels(durable, ce_type).inc()
            await self._dead_letter(durable, raw, f"{type(exc).__name__}: {exc.detail}")
            await msg.reject()
        except Exception as exc:
            FAILED.labels(durable, ce_type).inc()
            delivered = raw.metadata.num_delivered if raw.metadata else 1
            if delivered >= self._max_deliver:
                log.exception("giving up on %s %s after %d deliveries", ce_type, headers.get("ce-id"), delivered)
                await self._dead_letter(durable, raw, repr(exc))
                await msg.reject()
            else:
                log.warning("retrying %s %s (delivery %d): %r", ce_type, headers.get("ce-id"), delivered, exc)
                await msg.nack(delay=_backoff(delivered))
        finally:
            otel_context.detach(token)

    async def _dead_letter(self, durable: str, raw: Any, reason: str) -> None:
        DEAD.labels(durable).inc()
        headers = dict(raw.headers or {})
        headers.pop("Nats-Msg-Id", None)
        headers["x-dead-letter-reason"] = reason[:1000]
        headers["x-original-subject"] = raw.subject
        await self._js().publish(f"deadletter.{durable}", raw.data, headers=headers)
