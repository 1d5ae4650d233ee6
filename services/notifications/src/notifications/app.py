"""Notifications's composition root."""

from fastapi import FastAPI

from notifications.config import NotificationsSettings
from studio_platform.service import ServiceDefinition, build_service_app
from studio_platform.uow import UnitOfWork


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    return build_service_app(ServiceDefinition(
        name="notifications",
        title="Notifications",
        description="Every message to a person: email, SMS and web push, with preferences and a delivery log.",
        settings=settings or NotificationsSettings(),
        uow_class=UnitOfWork,
        publishes=["NOTIFICATIONS"],
    ))
