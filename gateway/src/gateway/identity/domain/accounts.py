"""People: how their email is kept and which passwords they may choose."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from email_validator import EmailNotValidError, validate_email

from studio_platform.errors import Invalid

MIN_PASSWORD_LENGTH = 10
# argon2 takes any length; the cap keeps one request from costing seconds of CPU.
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True)
class User:
    id: UUID
    email: str
    name: str
    password_hash: str
    created_at: datetime
    email_verified_at: datetime | None = None


def normalise_email(raw: str) -> str:
    """One spelling per address, so `Ann@Studio.com ` and `ann@studio.com` are one person."""
    return raw.strip().lower()


def require_valid_email(raw: str) -> str:
    email = normalise_email(raw)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("That is not a valid email address.", code="invalid-email") from exc
    return email


def require_name(raw: str) -> str:
    """A display name (of a person, organization or studio): trimmed, never blank."""
    name = " ".join(raw.split())
    if not name:
        raise Invalid("A name cannot be blank.", code="blank-name")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise Invalid("A name cannot contain control characters.", code="invalid-name")
    return name


def require_strong_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", code="weak-password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"A password may have at most {MAX_PASSWORD_LENGTH} characters.", code="password-too-long")
