"""Identity: users, organizations, studios, members, invitations and sessions; the gateway owns them.

The app factory passes `routers()` and `IdentityUnitOfWork` to build_service_app
and calls `install(app, settings)` on the app it returns.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from gateway.config import GatewaySettings
from gateway.identity.api import router
from gateway.identity.tokens import TokenIssuer
from gateway.identity.unit_of_work import IdentityUnitOfWork

__all__ = ["IdentityUnitOfWork", "install", "routers"]


def routers() -> list[APIRouter]:
    """Identity's routes: /v1/auth, /v1/me, organizations, studios, members, invitations, and the JWKS."""
    return [router]


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Put on the app what identity's routes need besides what build_service_app gives.

    The token verifier needs nothing here: `settings.auth_jwks` already holds
    this key's public half (see GatewaySettings).
    """
    app.state.token_issuer = TokenIssuer.from_settings(settings)
    app.state.public_url = settings.public_url.rstrip("/")
