"""Billing's composition root."""

import asyncio
import logging

from fastapi import FastAPI

from billing.api import router
from billing.config import BillingSettings
from billing.consumers import subscriptions
from billing.unit_of_work import BillingUnitOfWork
from studio_contracts import SYSTEM_ORGANIZATION
from studio_contracts.billing import BillingTick
from studio_platform.bus import ensure_repeating_schedule
from studio_platform.service import ServiceDefinition, build_service_app

log = logging.getLogger(__name__)


async def schedule_ticks(app: FastAPI) -> None:
    """Keep the repeating tick in the stream (replicas replace it rather than add one); retry until NATS takes it."""
    settings: BillingSettings = app.state.settings
    delay = 0.5
    while True:
        try:
            tick = BillingTick(organization_id=SYSTEM_ORGANIZATION)
            await ensure_repeating_schedule(app.state.nats.jetstream(), tick, every=settings.tick_every,
                                            source="/services/billing")
            return
        except Exception:
            log.exception("could not schedule billing's tick; retrying in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)


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
        background=[schedule_ticks],
    ))
