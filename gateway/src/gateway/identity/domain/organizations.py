"""Organizations (the businesses on the platform) and their studios."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from uuid import UUID
from zoneinfo import available_timezones

from studio_platform.errors import Invalid

SLUG_MAX_LENGTH = 48


@dataclass(frozen=True)
class Organization:
    id: UUID
    name: str
    slug: str
    created_at: datetime


@dataclass(frozen=True)
class Studio:
    id: UUID
    organization_id: UUID
    name: str
    time_zone: str
    address: str | None
    created_at: datetime


def slugify(name: str) -> str:
    """A URL-friendly handle from an organization's name (`Yoga Loft Berlin` -> `yoga-loft-berlin`)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-")
    return slug or "studio"


def slug_candidates(name: str) -> Iterator[str]:
    """The plain slug first, then ones with a random suffix for when it is taken."""
    base = slugify(name)
    yield base
    while True:
        yield f"{base[:SLUG_MAX_LENGTH - 7]}-{secrets.token_hex(3)}"


@cache
def _time_zones() -> frozenset[str]:
    # Reading the zone database walks the disk: once per process is enough.
    return frozenset(available_timezones())


def require_time_zone(name: str) -> str:
    if name not in _time_zones():
        raise Invalid(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin).", code="unknown-time-zone")
    return name
