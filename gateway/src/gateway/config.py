"""The gateway's settings, from the environment."""

from __future__ import annotations

import json
import logging

from pydantic import Field, PrivateAttr, model_validator

from studio_platform.keys import SigningKey
from studio_platform.settings import ServiceSettings

log = logging.getLogger(__name__)


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    # Ed25519 private key (PKCS#8 PEM) that signs access tokens. Unset: a fresh key per process
    # (dev only: tokens die with the process and replicas would not trust each other).
    signing_key_pem: str | None = None
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    # Where clients reach the platform; invitation links point here.
    public_url: str = "http://127.0.0.1:8000"
    scheduling_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    billing_url: str = "http://127.0.0.1:8003"
    engagement_url: str = "http://127.0.0.1:8004"
    notifications_url: str = "http://127.0.0.1:8005"
    reporting_url: str = "http://127.0.0.1:8006"
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_auth: str = "20/minute"
    rate_limit_default: str = "300/minute"
    rate_limit_booking: str = "5/minute"
    # How long booking's `class-full` answer may be given again at the edge while nothing about the class is
    # announced (edge/soldout.py); 0 sends every attempt to booking.
    sold_out_answer_seconds: float = Field(default=1.0, ge=0)
    # Booking attempts on one class sent on to booking at once; in a rush the rest wait at the edge, where
    # booking's class-full answer reaches them (edge/proxy.py).
    booking_attempts_per_class: int = Field(default=32, ge=1)

    _signing_key: SigningKey = PrivateAttr()

    @model_validator(mode="after")
    def _trust_own_key(self) -> GatewaySettings:
        # The signing key is settled once, here, and its public half joins `auth_jwks`.
        # build_service_app makes the token verifier from `auth_jwks` in its lifespan, so the gateway
        # checks its own tokens with the same generic verifier as every service, without fetching
        # its own /.well-known/jwks.json over HTTP (which would not answer before startup ends).
        # Keys already in AUTH_JWKS stay trusted too (a previous key while rotating; a test's minter).
        if self.signing_key_pem:
            self._signing_key = SigningKey.from_pem(self.signing_key_pem)
        else:
            log.warning("SIGNING_KEY_PEM is not set: signing tokens with a throwaway key (development only)")
            self._signing_key = SigningKey.generate()
        own = self._signing_key.public_jwk()
        others = json.loads(self.auth_jwks)["keys"] if self.auth_jwks else []
        self.auth_jwks = json.dumps({"keys": [own, *(k for k in others if k.get("kid") != own["kid"])]})
        return self

    @property
    def signing_key(self) -> SigningKey:
        return self._signing_key
