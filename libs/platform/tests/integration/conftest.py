import uuid

import nats
import pytest
import sqlalchemy as sa

from studio_platform.bus import ensure_streams
from studio_platform.db import make_engine
from studio_platform.inbox import inbox_table
from studio_platform.outbox import outbox_table
from studio_platform.testing import recreate_database, stored


@pytest.fixture
async def database(database_server_url):
    """A throwaway database holding just the outbox and inbox."""
    url = await recreate_database(database_server_url, f"test_platform_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    metadata = sa.MetaData()
    outbox_table(metadata)
    inbox_table(metadata)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield url, engine
    await engine.dispose()


@pytest.fixture
async def nc(nats_url):
    client = await nats.connect(nats_url)
    await ensure_streams(client.jetstream(), ["SCHEDULING", "DEADLETTER"])
    yield client
    await client.close()


@pytest.fixture
def jetstream(nc):
    return nc.jetstream()


@pytest.fixture
def messages_with_id():
    return _messages_with_id


async def _messages_with_id(js, subject: str, event_id: str) -> list:
    """Every message on `subject` whose Nats-Msg-Id is `event_id`."""
    return [msg for msg in await stored(js, subject) if (msg.headers or {}).get("Nats-Msg-Id") == event_id]
