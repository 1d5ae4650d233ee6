from pathlib import Path

import pytest

from booking.app import create_app
from booking.config import BookingSettings

MIGRATIONS = Path(__file__).parents[2] / "src/booking/adapters/migrations"


@pytest.fixture
async def booking(service_app):
    async with service_app(create_app, BookingSettings, MIGRATIONS) as running:
        yield running
