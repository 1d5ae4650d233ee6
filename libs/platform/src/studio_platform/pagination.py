"""Opaque keyset cursors: a page ends at (time, id) and the next starts after it."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from uuid import UUID

from studio_platform.errors import Invalid


def encode_cursor(at: datetime, id_: UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), str(id_)]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, id_ = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), UUID(id_)
    except (ValueError, TypeError) as exc:
        raise Invalid("The cursor is not one we gave out.", code="bad-cursor") from exc
