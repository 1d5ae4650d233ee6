import uuid
from pathlib import Path

import nats
import pytest

from billing.app import create_app
from billing.config import BillingSettings

from .support import Bus, bearer

MIGRATIONS = Path(__file__).parents[2] / "src/billing/adapters/migrations"


@pytest.fixture
async def billing(service_app):
    async with service_app(create_app, BillingSettings, MIGRATIONS) as running:
        yield running


@pytest.fixture
def tenant(minter):
    org, owner, alice, bob = (uuid.uuid4() for _ in range(4))
    return {
        "org": org, "owner_id": owner, "alice": alice, "bob": bob,
        "owner": bearer(minter.token(user_id=owner, organization_id=org, roles=("owner",))),
        "manager": bearer(minter.token(organization_id=org, roles=("manager",))),
        "instructor": bearer(minter.token(organization_id=org, roles=("instructor",))),
        "as_alice": bearer(minter.token(user_id=alice, organization_id=org, roles=("client",))),
        "as_bob": bearer(minter.token(user_id=bob, organization_id=org, roles=("client",))),
    }


@pytest.fixture
async def bus(nats_url):
    nc = await nats.connect(nats_url)
    sub = await nc.jetstream().subscribe("billing.>", ordered_consumer=True,
                                         deliver_policy=nats.js.api.DeliverPolicy.NEW)
    yield Bus(nc, sub)
    await nc.close()
