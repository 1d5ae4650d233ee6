"""Sessions: opaque secrets (refresh tokens, invitation tokens) and refresh-token rotation.

Only a secret's hash is stored, so a leaked table opens no session. Each refresh
spends the token and hands out the next one of its family; a spent token shown
again means it was copied, so the whole family is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

SECRET_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class RefreshToken:
    id: UUID
    user_id: UUID
    organization_id: UUID | None
    token_hash: str
    family_id: UUID
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None = None
    replaced_by: UUID | None = None

    @classmethod
    def issue(cls, *, user_id: UUID, organization_id: UUID | None, lifetime: timedelta, now: datetime,
              family_id: UUID | None = None) -> tuple[RefreshToken, str]:
        """A new token (a new family unless it continues one) and the secret to hand to the client."""
        secret = new_secret()
        token = cls(id=uuid.uuid4(), user_id=user_id, organization_id=organization_id,
                    token_hash=hash_secret(secret), family_id=family_id or uuid.uuid4(),
                    expires_at=now + lifetime, created_at=now)
        return token, secret


class Verdict(StrEnum):
    ROTATE = "rotate"
    EXPIRED = "expired"
    REUSED = "reused"
    UNKNOWN = "unknown"


def judge_refresh(token: RefreshToken | None, *, claimed: bool, now: datetime) -> Verdict:
    """What a presented refresh token earns.

    `claimed` says whether this request is the one that revoked it (the
    conditional update won); a known token that was not claimed had been spent
    or revoked before, so it is a replay.
    """
    if token is None:
        return Verdict.UNKNOWN
    if not claimed:
        return Verdict.REUSED
    if now >= token.expires_at:
        return Verdict.EXPIRED
    return Verdict.ROTATE
