"""RFC 9457 problem details for every error a service or the gateway returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import exc as db_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from studio_platform.errors import DomainError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class InvalidParam(BaseModel):
    name: str
    reason: str


class Problem(BaseModel):
    """The body of every error response (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    invalid_params: list[InvalidParam] | None = None


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    code: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    title = title or _TITLES.get(status, "Error")
    code = code or title.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "request")


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    # Unparseable JSON is a malformed request (400); well-formed JSON that breaks the schema is 422.
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(400, detail="The request body is not valid JSON.", code="malformed-json",
                                instance=request.url.path)
    params = [{"name": _field_name(tuple(e.get("loc", ()))), "reason": e.get("msg", "invalid")} for e in errors]
    return problem_response(422, detail="The request has invalid fields.", code="validation-failed",
                            instance=request.url.path, invalid_params=params)


def domain_problem(exc: DomainError, instance: str) -> JSONResponse:
    """The problem response for a refusal of ours, with the headers its status calls for."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if "retry_after" in exc.extensions:
        headers["Retry-After"] = str(exc.extensions["retry_after"])
    return problem_response(exc.status, title=exc.title, detail=exc.detail, code=exc.code,
                            instance=instance, headers=headers or None, **exc.extensions)


async def _on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return domain_problem(exc, request.url.path)


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, detail=detail, instance=request.url.path,
                            headers=getattr(exc, "headers", None))


# SQLSTATEs after which nothing was changed and the same request may well succeed: a server that refuses
# or drops connections (class 08, too many clients, shutting down, crashed, starting), and a transaction
# chosen as a deadlock's victim or failing serialization.
_UNAVAILABLE_STATES = ("08", "53300", "57P01", "57P02", "57P03", "40P01", "40001")


def _worth_retrying(exc: db_errors.DBAPIError) -> bool:
    state = getattr(exc.orig, "sqlstate", None) or ""
    return state.startswith(_UNAVAILABLE_STATES) or isinstance(exc.orig, OSError)


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database went away under a request, refused it, or made it a deadlock's victim: nothing was done."""
    if isinstance(exc, db_errors.DBAPIError) and not (exc.connection_invalidated or _worth_retrying(exc)):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return problem_response(503, detail="The service is briefly unavailable; nothing was changed. Try again.",
                            code="database-unavailable", instance=request.url.path, headers={"Retry-After": "1"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, detail="Something went wrong on our side; it has been logged.",
                            instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(db_errors.DBAPIError, _on_database_unavailable)
    app.add_exception_handler(db_errors.TimeoutError, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems an operation may return."""
    return {
        s: {"model": Problem, "description": _TITLES.get(s, "Error"), "content": {MEDIA_TYPE: {}}}
        for s in statuses
    }
