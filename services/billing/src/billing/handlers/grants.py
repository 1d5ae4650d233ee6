"""Putting credits into a new lot: a sale, or a membership's weekly allowance."""

from __future__ import annotations

from uuid import UUID

from billing.domain.credits import CreditLot, Move
from billing.domain.packages import ClientPackage, LotGrant
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts.billing import CreditsGranted


async def grant(uow: BillingUnitOfWork, package: ClientPackage, grant: LotGrant, *, actor_id: UUID | None) -> bool:
    """Open the lot and record its grant; False when that week was granted already (so granting is idempotent)."""
    lot = CreditLot.open(package, grant)
    if not await uow.ledger.open_lot(lot):
        return False
    # An unlimited week's grant counts no credits; its entry still records the allowance.
    await uow.ledger.move(lot.organization_id, lot.id, Move.GRANT, grant.credits, reason=grant.reason,
                          actor_id=actor_id)
    if not grant.unlimited:
        uow.publish(CreditsGranted(organization_id=package.organization_id, client_id=package.client_id,
                                   package_id=package.id, credits=grant.credits, reason=grant.reason,
                                   expires_at=grant.expires_at), subject=str(package.id))
    return True
