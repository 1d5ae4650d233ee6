"""Tracing, JSON logs carrying trace and request ids, and Prometheus metrics."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import time
import uuid

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request duration", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class _TraceContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        record.request_id = request_id_var.get()
        return True


def setup_logging(service: str, *, level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_TraceContext())
    if json_logs:
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(trace_id)s %(span_id)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        ))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "nats"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def setup_tracing(service: str) -> None:
    """Spans are always made (logs carry their ids, and `traceparent` travels on); they are recorded and
    exported when OTLP is configured. Without an exporter they are not recorded at all (unless
    `OTEL_TRACES_SAMPLER` says otherwise): recording spans nobody receives cost a request more than its
    trace is worth."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                     or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    sampler = None if exporting or os.environ.get("OTEL_TRACES_SAMPLER") else ALWAYS_OFF  # None: the SDK's default
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


# What a server span reads from a request to continue its caller's trace.
_PROPAGATED = {b"traceparent": "traceparent", b"tracestate": "tracestate", b"baggage": "baggage"}
_UNTRACED = ("/healthz", "/readyz", "/metrics")
_tracer = trace.get_tracer("studio_platform.http")


class RequestContextMiddleware:
    """Gives every request an id (kept from `X-Request-ID` when sent), a server span continuing the caller's
    trace, and metrics.

    The span is ours rather than OpenTelemetry's FastAPI instrumentation: that one matched the path against
    every route again to name the span and gathered its attributes even when the span was not recorded,
    which cost the gateway a tenth of its CPU per request. Here the name and attributes are set after the
    router has matched, and only on a span that is recorded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, carrier = "", {}
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value.decode("latin-1")[:128]
            elif key in _PROPAGATED:
                carrier[_PROPAGATED[key]] = value.decode("latin-1")
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        method, path = scope["method"], scope["path"]
        try:
            if path in _UNTRACED:
                await self.app(scope, receive, send_with_id)
                return
            with _tracer.start_as_current_span(method, context=propagate.extract(carrier),
                                               kind=SpanKind.SERVER) as span:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    if span.is_recording():
                        template = _template(scope)
                        span.update_name(f"{method} {template}")
                        span.set_attributes({"http.request.method": method, "url.path": path,
                                             "http.route": template, "http.response.status_code": status})
                        if status >= 500:
                            span.set_status(Status(StatusCode.ERROR))
        finally:
            template = _template(scope)
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
            request_id_var.reset(token)


def _template(scope: Scope) -> str:
    """The matched route's path template (low cardinality, for metrics and span names)."""
    return getattr(scope.get("route"), "path", None) or "unmatched"
