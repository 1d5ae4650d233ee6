"""Forwards public requests to the service that owns them.

aiohttp rather than httpx for the hop: it costs a fraction of the client CPU
per request, and the gateway sits on every request's path.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from fastapi import Request, Response
from opentelemetry import propagate

from gateway.edge.openapi import merge
from gateway.edge.routes import RouteTable
from studio_platform.errors import DomainError, NotFound, Unavailable
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
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False)
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

    async def forward(self, request: Request) -> Response:
        route = self.routes.match(request.url.path)
        if route is None:
            if set(self.services) - self.routes.services:
                raise Unavailable("Part of the platform is still starting; try again shortly.", code="starting",
                                  retry_after=2)
            raise NotFound("No such resource.", code="no-route")
        if self._session is None:
            raise Unavailable("The gateway is starting.", code="starting", retry_after=1)
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ContentTooLarge("Request bodies are limited to 1 MiB.", code="body-too-large")
        headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k))}
        headers["x-request-id"] = request_id_var.get() or ""
        headers["x-forwarded-for"] = request.client.host if request.client else ""
        propagate.inject(headers)
        url = self.services[route.service] + request.url.path
        try:
            async with self._session.request(request.method, url, params=list(request.query_params.multi_items()),
                                             data=body or None, headers=headers) as upstream:
                content = await upstream.read()
                returned = {k: v for k in RETURNED_HEADERS if (v := upstream.headers.get(k))}
                return Response(content=content, status_code=upstream.status, headers=returned)
        except TimeoutError as exc:
            raise GatewayTimeout(f"{route.service} did not answer in time.", code="upstream-timeout") from exc
        except aiohttp.ClientError as exc:
            log.warning("%s unreachable: %r", route.service, exc)
            raise BadGateway(f"{route.service} could not be reached.", code="upstream-unreachable") from exc
