"""Access tokens: the claims the gateway signs and every service checks itself.

Tokens are short-lived EdDSA (Ed25519) JWTs. Services verify them against the
gateway's published JWKS, so no service trusts a bare header.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from studio_platform.errors import Forbidden, Unauthorized, Unavailable

ALGORITHM = "EdDSA"
STAFF_ROLES = frozenset({"owner", "manager", "instructor"})


@dataclass(frozen=True)
class Principal:
    """Who is calling, in which organization, with which roles and studios."""

    user_id: UUID
    organization_id: UUID | None
    roles: frozenset[str]
    studio_ids: frozenset[UUID]
    name: str = ""

    @property
    def org(self) -> UUID:
        """The caller's organization; a caller without one may not touch tenant data."""
        if self.organization_id is None:
            raise Forbidden("Join or create an organization first.", code="no-organization")
        return self.organization_id

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    def manages_studio(self, studio_id: UUID) -> bool:
        """Owners manage every studio of their organization; managers only theirs."""
        return "owner" in self.roles or ("manager" in self.roles and studio_id in self.studio_ids)

    def require_manager_of(self, studio_id: UUID) -> None:
        if not self.manages_studio(studio_id):
            raise Forbidden("Only the studio's owner or manager may do this.", code="not-studio-manager")


def access_claims(
    *,
    user_id: UUID,
    organization_id: UUID | None,
    roles: list[str],
    studio_ids: list[UUID],
    name: str,
    issuer: str,
    audience: str,
    ttl_seconds: int,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    return {
        "iss": issuer,
        "aud": audience,
        "sub": str(user_id),
        "iat": int(now),
        "exp": int(now + ttl_seconds),
        "org": str(organization_id) if organization_id else None,
        "roles": sorted(roles),
        "studios": sorted(str(s) for s in studio_ids),
        "name": name,
    }


def sign(claims: dict[str, Any], *, private_key: Any, kid: str) -> str:
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        return Principal(
            user_id=UUID(claims["sub"]),
            organization_id=UUID(claims["org"]) if claims.get("org") else None,
            roles=frozenset(claims.get("roles") or ()),
            studio_ids=frozenset(UUID(s) for s in claims.get("studios") or ()),
            name=claims.get("name") or "",
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("The access token's claims are malformed.", code="invalid-token") from exc


class TokenVerifier:
    """Checks access tokens against the gateway's keys, fetched once and on an unknown key id.

    A token that checked out is remembered until it expires: clients send the same one with
    every request, and a signature check costs more than the rest of a cheap request.
    """

    CACHE_SIZE = 10_000

    def __init__(self, *, issuer: str, audience: str, jwks_url: str | None = None,
                 jwks: str | None = None, refresh_interval: float = 30.0) -> None:
        self._issuer = issuer
        self._audience = audience
        self._url = jwks_url
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._refresh_interval = refresh_interval
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, expiry), oldest first
        if jwks:
            self._load(json.loads(jwks))
            self._url = None

    def _load(self, document: dict[str, Any]) -> None:
        keyset = jwt.PyJWKSet.from_dict(document)
        self._keys = {k.key_id: k.key for k in keyset.keys if k.key_id}

    async def _refresh(self) -> None:
        if not self._url:
            return
        async with self._lock:
            if time.monotonic() - self._fetched_at < self._refresh_interval and self._keys:
                return
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(self._url)
                    response.raise_for_status()
                    self._load(response.json())
                    self._fetched_at = time.monotonic()
            except (httpx.HTTPError, ValueError, jwt.PyJWKError) as exc:
                if not self._keys:
                    raise Unavailable("The token keys cannot be fetched right now.", code="keys-unavailable") from exc

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            if known[1] > time.time():
                return known[0]
            del self._verified[token]
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is malformed.", code="invalid-token") from exc
        if kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The access token was signed by an unknown key.", code="invalid-token")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=self._audience, issuer=self._issuer,
                                options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired.", code="token-expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is invalid.", code="invalid-token") from exc
        principal = principal_from_claims(claims)
        if len(self._verified) >= self.CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, float(claims["exp"]))
        return principal


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /v1/auth/login")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send an access token: Authorization: Bearer <token>.", code="missing-token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def principal_of(request: Request) -> Principal:
    """The caller, as `CurrentPrincipal` gives it, for a route served without FastAPI's dependencies."""
    return await current_principal(request, await _bearer(request))
