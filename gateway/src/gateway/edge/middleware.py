"""Rate limiting at the edge, before any work is done for the caller."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.edge.ratelimit import RateLimits, category
from studio_platform.errors import DomainError
from studio_platform.problems import domain_problem


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            self.limits.check(caller=await _caller(request), category=category(scope["method"], scope["path"]))
        except DomainError as exc:
            await domain_problem(exc, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _caller(request: Request) -> str:
    """A verified user id when a good token comes with the request, else the client's address."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        try:
            principal = await request.app.state.token_verifier.verify(auth[7:])
            return f"user:{principal.user_id}"
        except (DomainError, AttributeError):
            pass  # a bad token is counted by address; the route answers 401 itself
    return f"addr:{request.client.host if request.client else 'unknown'}"
