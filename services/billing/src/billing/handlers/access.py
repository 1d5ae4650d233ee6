"""Who may do what with products and credits. Checked explicitly by every use case."""

from __future__ import annotations

from uuid import UUID

from studio_platform.auth import Principal
from studio_platform.errors import Forbidden

MANAGERS = ("owner", "manager")


def is_manager(principal: Principal) -> bool:
    return principal.has_role(*MANAGERS)


def require_manager(principal: Principal) -> UUID:
    """The caller's organization, if they are an owner or manager there."""
    org = principal.org
    if not is_manager(principal):
        raise Forbidden("Only owners and managers manage products and clients' credits.", code="not-manager")
    return org


def require_client_or_manager(principal: Principal, client_id: UUID) -> UUID:
    """The caller's organization, if they are that client or an owner or manager: clients see only their own."""
    org = principal.org
    if principal.user_id != client_id and not is_manager(principal):
        raise Forbidden("You can only see your own credits.", code="not-your-credits")
    return org
