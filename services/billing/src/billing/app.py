"""Billing's composition root."""

from fastapi import FastAPI

from billing.config import BillingSettings
from studio_platform.service import ServiceDefinition, build_service_app
from studio_platform.uow import UnitOfWork


def create_app(settings: BillingSettings | None = None) -> FastAPI:
    return build_service_app(ServiceDefinition(
        name="billing",
        title="Billing",
        description="Products, packages, memberships, the credit ledger and payments.",
        settings=settings or BillingSettings(),
        uow_class=UnitOfWork,
        publishes=["BILLING"],
    ))
