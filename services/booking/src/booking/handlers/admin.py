"""Staff settings: a studio's booking policy, and suspending a client from booking."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from booking.domain.policy import BookingPolicy
from booking.handlers.common import now
from booking.unit_of_work import BookingUnitOfWork
from studio_platform.auth import Principal
from studio_platform.errors import Forbidden, Invalid, NotFound


async def policy(uow: BookingUnitOfWork, *, principal: Principal, studio_id: UUID) -> BookingPolicy:
    async with uow:
        return await uow.policies.for_studio(principal.org, studio_id)


async def set_policy(uow: BookingUnitOfWork, *, principal: Principal, studio_id: UUID,
                     **fields: Any) -> BookingPolicy:
    principal.require_manager_of(studio_id)
    new = BookingPolicy(**fields)
    async with uow:
        await uow.policies.save(principal.org, studio_id, new)
        await uow.commit()
    return new


def _require_manager(principal: Principal) -> None:
    if not principal.has_role("owner", "manager"):
        raise Forbidden("Only owners and managers suspend clients.", code="not-staff")


async def suspend(uow: BookingUnitOfWork, *, principal: Principal, client_id: UUID, until: datetime,
                  reason: str) -> None:
    _require_manager(principal)
    if until <= now():
        raise Invalid("A suspension must end in the future.", code="suspension-in-past")
    async with uow:
        await uow.suspensions.suspend(principal.org, client_id, until=until, reason=reason, by=principal.user_id)
        await uow.commit()


async def lift_suspension(uow: BookingUnitOfWork, *, principal: Principal, client_id: UUID) -> None:
    _require_manager(principal)
    async with uow:
        if not await uow.suspensions.lift(principal.org, client_id):
            raise NotFound("That client is not suspended.", code="not-suspended")
        await uow.commit()
