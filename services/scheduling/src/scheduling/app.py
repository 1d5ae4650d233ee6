"""Scheduling's composition root."""

from fastapi import FastAPI

from scheduling.api import router
from scheduling.config import SchedulingSettings
from scheduling.consumers import SUBSCRIPTIONS
from scheduling.unit_of_work import SchedulingUnitOfWork
from studio_platform.service import ServiceDefinition, build_service_app


def create_app(settings: SchedulingSettings | None = None) -> FastAPI:
    settings = settings or SchedulingSettings()
    app = build_service_app(ServiceDefinition(
        name="scheduling",
        title="Scheduling",
        description="Class types and class sessions: plan the timetable, browse and search it.",
        settings=settings,
        uow_class=SchedulingUnitOfWork,
        publishes=["SCHEDULING"],
        routers=[router],
        subscriptions=SUBSCRIPTIONS,
    ))
    return app
