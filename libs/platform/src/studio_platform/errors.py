"""Errors a domain or handler raises; the HTTP edge turns them into problem responses.

Plain Python on purpose: domain code may raise them without importing any I/O.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code()
        self.extensions = extensions

    @classmethod
    def default_code(cls) -> str:
        return cls.title.lower().replace(" ", "-")


class Invalid(DomainError):
    """The request is well-formed but breaks a rule (422)."""

    status = 422
    title = "Unprocessable request"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, stale version)."""

    status = 409
    title = "Conflict"


class Gone(DomainError):
    """It existed, and is no more (an expired invitation)."""

    status = 410
    title = "Gone"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"


class Unavailable(DomainError):
    status = 503
    title = "Service unavailable"
