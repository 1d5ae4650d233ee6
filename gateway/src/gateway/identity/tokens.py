"""The gateway signs access tokens; every service checks them against its published keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.config import GatewaySettings
from gateway.identity.domain.accounts import User
from gateway.identity.domain.memberships import Membership
from studio_platform.auth import access_claims, sign
from studio_platform.keys import SigningKey, jwks


@dataclass(frozen=True)
class SessionTokens:
    access_token: str
    refresh_token: str
    expires_in: int


class TokenIssuer:
    def __init__(self, signing_key: SigningKey, *, issuer: str, audience: str, access_ttl_seconds: int,
                 refresh_lifetime: timedelta) -> None:
        self._key = signing_key
        self._issuer = issuer
        self._audience = audience
        self.access_ttl_seconds = access_ttl_seconds
        self.refresh_lifetime = refresh_lifetime

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> TokenIssuer:
        return cls(settings.signing_key, issuer=settings.auth_issuer, audience=settings.auth_audience,
                   access_ttl_seconds=settings.access_token_ttl_seconds,
                   refresh_lifetime=timedelta(days=settings.refresh_token_ttl_days))

    def issue(self, user: User, membership: Membership | None, *, refresh_token: str) -> SessionTokens:
        """An access token for the user, scoped to one organization (or none), with its refresh token."""
        claims = access_claims(
            user_id=user.id,
            organization_id=membership.organization_id if membership else None,
            roles=[membership.role] if membership else [],
            studio_ids=sorted(membership.studio_ids) if membership else [],
            name=user.name, issuer=self._issuer, audience=self._audience, ttl_seconds=self.access_ttl_seconds)
        return SessionTokens(access_token=sign(claims, private_key=self._key.private_key, kid=self._key.kid),
                             refresh_token=refresh_token, expires_in=self.access_ttl_seconds)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return jwks(self._key)
