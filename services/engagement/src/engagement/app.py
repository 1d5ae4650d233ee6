"""Engagement's composition root."""

from fastapi import FastAPI

from engagement.config import EngagementSettings
from studio_platform.service import ServiceDefinition, build_service_app
from studio_platform.uow import UnitOfWork


def create_app(settings: EngagementSettings | None = None) -> FastAPI:
    return build_service_app(ServiceDefinition(
        name="engagement",
        title="Engagement",
        description="Cohorts, programs, workout logs, progress, feedback and music.",
        settings=settings or EngagementSettings(),
        uow_class=UnitOfWork,
        publishes=["ENGAGEMENT"],
    ))
