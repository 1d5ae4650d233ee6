"""Forwards public requests to the service that owns them.

aiohttp rather than httpx for the hop: it costs a fraction of the client CPU
per request, and the gateway sits on every request's path. For the same
reason a proxied request is forwarded at the ASGI level (`ProxyMiddleware`),
before FastAPI's router: it needs none of the router's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import aiohttp
from opentelemetry import propagate
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from yarl import URL

from gateway.edge.openapi import merge
from gateway.edge.ratelimit import category
from gateway.edge.routes import Route, RouteTable, compile_route, one_pattern
from gateway.edge.soldout import SoldOut
from studio_platform.errors import DomainError, NotFound, Unavailable
from studio_platform.problems import domain_problem
from studio_platform.telemetry import request_id_var

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "idempotency-key", "if-match",
                             "if-none-match", "last-event-id")
RETURNED_HEADERS = ("content-type", "location", "etag", "retry-after", "cache-control", "content-disposition")


class BadGateway(DomainError):
    status = 502
    title = "Bad gateway"


class GatewayTimeout(DomainError):
    status = 504
    title = "Gateway timeout"


class ContentTooLarge(DomainError):
    status = 413
    title = "Content too large"


class ServiceProxy:
    """The routes, the merged document and the connection pool to every service."""

    def __init__(self, services: dict[str, str], *, timeout: float = 30.0) -> None:
        self.services = services
        self.routes = RouteTable()
        self.documents: dict[str, dict[str, Any]] = {}
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=5)
        self._session: aiohttp.ClientSession | None = None

    async def run(self, refresh_seconds: float = 30.0) -> None:
        """Keep the pool open and the routes fresh for as long as the gateway runs."""
        # Idle connections are dropped before the services' servers drop them (uvicorn: 30 s as we run it),
        # so the proxy never sends a request down a connection the other end is closing.
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, keepalive_timeout=15)
        # No cookie jar: the session carries every caller's requests, so a cookie one answer set must never go
        # out with the next caller's.
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False,
                                              cookie_jar=aiohttp.DummyCookieJar())
        try:
            while True:
                await self.refresh()
                missing = set(self.services) - self.routes.services
                await asyncio.sleep(0.5 if missing else refresh_seconds)
        finally:
            await self._session.close()

    async def refresh(self) -> None:
        assert self._session is not None
        for name, base in self.services.items():
            try:
                async with self._session.get(f"{base}/openapi.json", timeout=aiohttp.ClientTimeout(total=5)) as r:
                    r.raise_for_status()
                    document = await r.json()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                if name not in self.documents:
                    log.info("waiting for %s's API document: %r", name, exc)
                continue
            self.documents[name] = document
            self.routes.learn(name, document)

    def openapi(self, own: dict[str, Any]) -> dict[str, Any]:
        return merge(own, self.documents)

    def unrouted(self) -> DomainError:
        """Why a path that no service's operation matches gets no answer."""
        if set(self.services) - self.routes.services:
            return Unavailable("Part of the platform is still starting; try again shortly.", code="starting",
                               retry_after=2)
        return NotFound("No such resource.", code="no-route")

    async def forward(self, route: Route, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]],
                                                                                   bytes]:
        """The service's answer to this request: status, the headers passed back, body."""
        if self._session is None:
            raise Unavailable("The gateway is starting.", code="starting", retry_after=1)
        request_headers = dict(scope["headers"])
        body = await _body(receive, request_headers.get(b"content-length"))
        headers = {name: value.decode("latin-1") for name in FORWARDED_REQUEST_HEADERS
                   if (value := request_headers.get(name.encode()))}
        headers["x-request-id"] = request_id_var.get() or ""
        headers["x-forwarded-for"] = scope["client"][0] if scope.get("client") else ""
        propagate.inject(headers)
        target = self.services[route.service] + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if query := scope.get("query_string"):
            target += "?" + query.decode("latin-1")
        try:
            async with self._session.request(scope["method"], URL(target, encoded=True), data=body or None,
                                             headers=headers) as upstream:
                content = await upstream.read()
                returned = [(k.encode(), v.encode("latin-1")) for k in RETURNED_HEADERS
                            if (v := upstream.headers.get(k))]
                if upstream.status >= 200 and upstream.status not in (204, 304):  # those carry no body
                    returned.append((b"content-length", str(len(content)).encode()))
                return upstream.status, returned, content
        except TimeoutError as exc:
            raise GatewayTimeout(f"{route.service} did not answer in time.", code="upstream-timeout") from exc
        except aiohttp.ClientError as exc:
            log.warning("%s unreachable: %r", route.service, exc)
            raise BadGateway(f"{route.service} could not be reached.", code="upstream-unreachable") from exc


async def _body(receive: Receive, declared: bytes | None) -> bytes:
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise ContentTooLarge("Request bodies are limited to 1 MiB.", code="body-too-large")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ContentTooLarge("Request bodies are limited to 1 MiB.", code="body-too-large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class ProxyMiddleware:
    """Sends a request whose path a service's operation matches straight to that service; the rest (the
    gateway's own operations, which win over a service's, and paths nobody answers) go on to the app.
    A booking attempt on a class booking has just called full may be answered from `soldout`; at most
    `attempts_per_class` attempts on one class are at booking at once."""

    def __init__(self, app: ASGIApp, *, proxy: ServiceProxy, methods: frozenset[str], soldout: SoldOut,
                 attempts_per_class: int) -> None:
        self.app = app
        self.proxy = proxy
        self.methods = methods
        self.soldout = soldout
        self._admission = Admission(attempts_per_class)
        self._own: re.Pattern[str] | None = None

    def _is_own(self, scope: Scope, path: str) -> bool:
        if self._own is None:  # the app's routes are all in place by its first request
            self._own = one_pattern([compile_route(route.path, "gateway") for route in scope["app"].routes
                                     if getattr(route, "path", "").startswith("/v1/")
                                     and "{path:path}" not in route.path])
        return self._own.match(path) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        route = (self.proxy.routes.match(path) if scope["type"] == "http" and path.startswith("/v1/")
                 and scope["method"] in self.methods else None)
        if route is None or self._is_own(scope, path):
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # its template names the request in metrics and traces
        try:
            attempt = await self._attempt(scope, path)
            if attempt is None:
                status, headers, body = await self.proxy.forward(route, scope, receive)
            else:
                status, headers, body = await self._book(attempt, route, scope, receive)
        except DomainError as exc:
            await domain_problem(exc, path)(scope, receive, send)
            return
        except ClientDisconnect:
            return  # nobody to answer, and nothing was sent on
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _attempt(self, scope: Scope, path: str) -> tuple[UUID, UUID, UUID] | None:
        """(class, organization, client) of a booking attempt the sold-out view may answer: one without an
        Idempotency-Key, by a caller with a good token and an organization."""
        if category(scope["method"], path) != "booking":
            return None
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if b"idempotency-key" in headers or not auth.lower().startswith("bearer "):
            return None
        try:
            principal = await scope["app"].state.token_verifier.verify(auth[7:])
            class_id = UUID(path.split("/")[3])
        except (DomainError, ValueError):
            return None  # booking says what is wrong
        if principal.organization_id is None:
            return None
        return class_id, principal.organization_id, principal.user_id

    async def _book(self, attempt: tuple[UUID, UUID, UUID], route: Route, scope: Scope,
                    receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """A booking attempt: booking's standing `class-full` answer if there is one, else booking's own,
        with at most `attempts_per_class` attempts on the class at booking at once. In a rush the rest wait
        here, and once booking has called the class full they are answered here instead."""
        if full := self.soldout.answer(*attempt):
            return 409, _problem_headers(full), full
        async with self._admission.admit(attempt[0]):
            if full := self.soldout.answer(*attempt):  # booking called it full while this one waited
                return 409, _problem_headers(full), full
            status, headers, body = await self.proxy.forward(route, scope, receive)
            if status == 409:
                self._remember(attempt, body)
        return status, headers, body

    def _remember(self, attempt: tuple[UUID, UUID, UUID], body: bytes) -> None:
        try:
            problem = json.loads(body)
        except ValueError:
            return
        if isinstance(problem, dict) and problem.get("code") == "class-full" \
                and isinstance(version := problem.get("seats_version"), int):
            self.soldout.remember(attempt[0], attempt[1], body, version)


class Admission:
    """A limit per class on booking attempts in flight at once; a class's gate exists only while in use."""

    def __init__(self, at_once: int) -> None:
        self.at_once = at_once
        self._gates: dict[UUID, tuple[asyncio.Semaphore, int]] = {}  # class -> (gate, attempts using it)

    @contextlib.asynccontextmanager
    async def admit(self, class_id: UUID) -> AsyncIterator[None]:
        gate, users = self._gates.get(class_id) or (asyncio.Semaphore(self.at_once), 0)
        self._gates[class_id] = (gate, users + 1)
        try:
            async with gate:
                yield
        finally:
            gate, users = self._gates[class_id]
            if users == 1:
                del self._gates[class_id]
            else:
                self._gates[class_id] = (gate, users - 1)

    def in_use(self) -> int:
        return len(self._gates)


def _problem_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
