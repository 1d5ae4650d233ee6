"""The whole platform as processes, started once for the end-to-end tests."""

import os
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from devstack.stack import Stack


@pytest.fixture(scope="session")
def stack(database_server_url, nats_url):
    tag = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="studio-e2e-") as state:
        platform = Stack(nats_url=nats_url, database_url=database_server_url, state_dir=Path(state),
                         database_prefix=f"e2e_{tag}_", durable_prefix=f"e2e{tag}-",
                         extra_env={"LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
                                    "CONSUMER_START": "new",  # earlier tests' events are not this stack's
                                    # Every test caller comes from 127.0.0.1: sign-ups must not starve.
                                    "RATE_LIMIT_AUTH": "10000/minute", "RATE_LIMIT_DEFAULT": "120/minute"})
        try:
            platform.start()
            yield platform
        finally:
            platform.stop()


@pytest.fixture
async def gateway(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client
