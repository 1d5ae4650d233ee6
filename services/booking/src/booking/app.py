"""Booking's composition root."""

from fastapi import FastAPI

from booking.api import router
from booking.config import BookingSettings
from booking.consumers import SUBSCRIPTIONS
from booking.unit_of_work import BookingUnitOfWork
from studio_platform.service import ServiceDefinition, build_service_app


def create_app(settings: BookingSettings | None = None) -> FastAPI:
    return build_service_app(ServiceDefinition(
        name="booking",
        title="Booking",
        description="Bookings, waitlists and the booking saga with billing.",
        settings=settings or BookingSettings(),
        uow_class=BookingUnitOfWork,
        publishes=["BOOKING"],
        routers=[router],
        subscriptions=SUBSCRIPTIONS,
    ))
