"""Booking's composition root."""

import asyncio
from datetime import timedelta

from fastapi import FastAPI

from booking.adapters.outcomes import OutcomeWaiter
from booking.api import direct, router
from booking.config import BookingSettings
from booking.consumers import SUBSCRIPTIONS
from booking.domain.policy import BookingPolicy
from booking.unit_of_work import BookingUnitOfWork
from studio_contracts import SYSTEM_ORGANIZATION
from studio_contracts.booking import BookingTick
from studio_platform.service import ServiceDefinition, build_service_app


def create_app(settings: BookingSettings | None = None) -> FastAPI:
    settings = settings or BookingSettings()
    default_policy = BookingPolicy(
        late_cancel_policy=settings.late_cancel_policy, late_cancel_fee_minor=settings.late_cancel_fee_minor,
        currency=settings.currency, waitlist_limit=settings.waitlist_limit,
        promotion_cutoff_minutes=settings.promotion_cutoff_minutes)
    outcomes = OutcomeWaiter()
    uow_class = type("ConfiguredBookingUnitOfWork", (BookingUnitOfWork,), {
        "default_policy": default_policy, "saga_timeout": timedelta(seconds=settings.saga_timeout_seconds),
        "outcomes": outcomes})

    async def listen_for_outcomes(app: FastAPI) -> None:
        await outcomes.listen(app.state.nats, f"_studio.{settings.durable_prefix}booking.outcomes")

    app = build_service_app(ServiceDefinition(
        name="booking",
        title="Booking",
        description="Bookings, waitlists and the booking saga with billing.",
        settings=settings,
        uow_class=uow_class,
        publishes=["BOOKING", "BILLING"],
        routers=[direct, router],
        subscriptions=SUBSCRIPTIONS,
        background=[listen_for_outcomes],
        repeating=[(BookingTick(organization_id=SYSTEM_ORGANIZATION), settings.tick_every)],
    ))
    app.state.outcomes = outcomes
    app.state.booking_gate = asyncio.Semaphore(settings.booking_attempts_at_once)
    return app
