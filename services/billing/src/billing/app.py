"""Billing's composition root."""

from fastapi import FastAPI

from billing.api import router
from billing.config import BillingSettings
from billing.consumers import subscriptions
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts import SYSTEM_ORGANIZATION
from studio_contracts.billing import BillingTick
from studio_platform.service import ServiceDefinition, build_service_app


def create_app(settings: BillingSettings | None = None) -> FastAPI:
    settings = settings or BillingSettings()
    return build_service_app(ServiceDefinition(
        name="billing",
        title="Billing",
        description="Products, client packages and memberships, and the credit ledger behind every booking.",
        settings=settings,
        uow_class=BillingUnitOfWork,
        publishes=["BILLING"],
        routers=[router],
        subscriptions=subscriptions(settings),
        repeating=[(BillingTick(organization_id=SYSTEM_ORGANIZATION), settings.tick_every)],
    ))
