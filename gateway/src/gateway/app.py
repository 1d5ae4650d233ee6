"""The gateway's composition root: identity, the edge (routing, one API document, limits), CORS."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import identity
from gateway.config import GatewaySettings
from gateway.edge import live_api
from gateway.edge.live import LiveFeed, follow_booking
from gateway.edge.middleware import RateLimitMiddleware
from gateway.edge.proxy import ProxyMiddleware, ServiceProxy
from gateway.edge.ratelimit import RateLimits
from gateway.edge.soldout import SoldOut
from gateway.identity.unit_of_work import IdentityUnitOfWork
from studio_platform.service import ServiceDefinition, build_service_app

PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    proxy = ServiceProxy({
        "scheduling": settings.scheduling_url,
        "booking": settings.booking_url,
        "billing": settings.billing_url,
        "engagement": settings.engagement_url,
        "notifications": settings.notifications_url,
        "reporting": settings.reporting_url,
    })

    live = LiveFeed()
    soldout = SoldOut(ttl=settings.sold_out_answer_seconds)

    async def run_proxy(app: FastAPI) -> None:
        await proxy.run()

    async def follow_booking_events(app: FastAPI) -> None:
        await follow_booking(app.state.nats, soldout, live)

    app = build_service_app(ServiceDefinition(
        name="gateway",
        title="Studio platform API",
        description="The one public API of the studio platform: identity, classes, bookings, credits and more. "
                    "Every error is an RFC 9457 problem document.",
        settings=settings,
        uow_class=IdentityUnitOfWork,
        publishes=["IDENTITY"],
        routers=[*identity.routers(), live_api.router],
        background=[run_proxy, follow_booking_events],
        # Limits first, then a service's operation forwarded before the router.
        middleware=[(ProxyMiddleware, {"proxy": proxy, "methods": frozenset(PROXIED_METHODS), "soldout": soldout,
                                       "attempts_per_class": settings.booking_attempts_per_class}),
                    (RateLimitMiddleware, {"limits": RateLimits(auth=settings.rate_limit_auth,
                                                                default=settings.rate_limit_default,
                                                                booking=settings.rate_limit_booking)})],
    ))
    identity.install(app, settings)
    app.state.proxy = proxy
    app.state.live = live

    async def unrouted() -> None:
        raise proxy.unrouted()

    # What reaches the router under /v1 and is not the gateway's own has no service to answer it.
    app.add_api_route("/v1/{path:path}", unrouted, methods=PROXIED_METHODS, include_in_schema=False)

    own_openapi = app.openapi

    def merged_openapi() -> dict[str, Any]:
        return proxy.openapi(own_openapi())

    app.openapi = merged_openapi  # type: ignore[method-assign]
    _replace_docs_routes(app)

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                           allow_methods=PROXIED_METHODS, allow_headers=["*"], expose_headers=["x-request-id"])
    return app


def _replace_docs_routes(app: FastAPI) -> None:
    """Serve the merged document (never cached: services' operations appear as they start)."""
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in ("/openapi.json", "/docs")]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Studio platform API")
