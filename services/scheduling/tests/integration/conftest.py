from pathlib import Path

import pytest

from scheduling.app import create_app
from scheduling.config import SchedulingSettings

MIGRATIONS = Path(__file__).parents[2] / "src/scheduling/adapters/migrations"


@pytest.fixture
async def scheduling(service_app):
    async with service_app(create_app, SchedulingSettings, MIGRATIONS) as running:
        yield running
