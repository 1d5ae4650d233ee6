"""Liveness, readiness (database and NATS) and metrics endpoints, the same on every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from studio_platform.problems import problem_response

Check = Callable[[Request], Awaitable[None]]


def health_router(checks: dict[str, Check]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        failed: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check(request)
            except Exception as exc:  # readiness reports any failure, it never raises
                failed[name] = f"{type(exc).__name__}: {exc}"[:300]
        if failed:
            return problem_response(503, detail="Not ready: " + ", ".join(sorted(failed)), code="not-ready",
                                    checks=failed)
        return JSONResponse({"status": "ready", "checks": sorted(checks)})

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
