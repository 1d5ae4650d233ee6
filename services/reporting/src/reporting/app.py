"""Reporting's composition root."""

from fastapi import FastAPI

from reporting.config import ReportingSettings
from studio_platform.service import ServiceDefinition, build_service_app
from studio_platform.uow import UnitOfWork


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    return build_service_app(ServiceDefinition(
        name="reporting",
        title="Reporting",
        description="Read models built from events, dashboards and scheduled reports.",
        settings=settings or ReportingSettings(),
        uow_class=UnitOfWork,
        publishes=["REPORTING"],
    ))
