import asyncio
import json
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest

from booking.app import create_app
from booking.config import BookingSettings
from booking.handlers.classes import remember_class
from studio_contracts import billing, scheduling
from studio_platform.envelope import OutgoingEvent, encode_data
from studio_platform.testing import published

MIGRATIONS = Path(__file__).parents[2] / "src/booking/adapters/migrations"


@pytest.fixture
async def booking(service_app):
    async with service_app(create_app, BookingSettings, MIGRATIONS, saga_timeout_seconds=3, sync_wait_seconds=2,
                           promotion_cutoff_minutes=0) as running:
        yield running


class Studio:
    """One organization with a class, its staff and clients, as tokens."""

    def __init__(self, app, client, minter):
        self.app, self.http, self.minter = app, client, minter
        self.org, self.studio_id, self.instructor_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.owner = self.headers(uuid.uuid4(), "owner")

    def headers(self, user_id, role="client"):
        return {"Authorization": "Bearer " + self.minter.token(user_id=user_id, organization_id=self.org,
                                                               roles=(role,))}

    def client(self):
        user_id = uuid.uuid4()
        return user_id, self.headers(user_id)

    async def add_class(self, *, capacity=5, starts_in=timedelta(days=2), length=timedelta(hours=1), **changes):
        start = datetime.now(UTC) + starts_in
        values = {"organization_id": self.org, "class_id": uuid.uuid4(), "version": 1, "class_type_id": uuid.uuid4(),
                  "name": "Reformer", "studio_id": self.studio_id, "instructor_id": self.instructor_id,
                  "starts_at": start, "ends_at": start + length, "capacity": capacity,
                  "registration_closes_at": start, "late_cancel_cutoff": start - timedelta(hours=12),
                  "status": "scheduled", **changes}
        await self.apply(scheduling.ClassScheduled(**values))
        return values

    async def apply(self, event):
        async with self.app.state.uow() as uow:
            await remember_class(event, None, uow)
            await uow.commit()

    async def book(self, class_id, headers, **extra_headers):
        return await self.http.post(f"/v1/classes/{class_id}/bookings", headers={**headers, **extra_headers})

    async def availability(self, class_id):
        return (await self.http.get(f"/v1/classes/{class_id}/availability", headers=self.owner)).json()

    async def published(self, subjects):
        """The organization's events booking published on `subjects`, in order: (CloudEvents subject, data)."""
        url = self.app.state.engine.url.render_as_string(hide_password=False)
        return [(msg.headers.get("ce-subject"), json.loads(msg.data))
                for msg in await published(url, self.app.state.nats.jetstream(), subjects, self.org)]


@pytest.fixture
def studio(booking, minter):
    app, client = booking
    return Studio(app, client, minter)


class FakeBilling:
    """Answers booking's credit commands over the real bus, as billing would, by a rule the test sets."""

    def __init__(self, org):
        self.org = org
        self.decide: Callable[[billing.ReserveCredit], str | None] = lambda command: "reserved"
        self.commands: list[tuple[str, dict]] = []

    async def on_message(self, msg):
        if msg.headers.get("ce-organizationid") != str(self.org):
            return
        self.commands.append((msg.headers["ce-type"], json.loads(msg.data)))
        if msg.headers["ce-type"] != billing.ReserveCredit.type:
            return
        command = billing.ReserveCredit.model_validate_json(msg.data)
        verdict = self.decide(command)
        if verdict is not None:  # None: silence, and the saga's deadline must rescue it
            await self.answer(command, verdict)

    async def answer(self, command: billing.ReserveCredit, verdict: str) -> None:
        common = {"organization_id": self.org, "booking_id": command.booking_id, "client_id": command.client_id}
        reply = (billing.CreditReserved(**common, package_id=uuid.uuid4(), package_name="10-class pack")
                 if verdict == "reserved" else billing.CreditRejected(**common, reason=verdict, detail=verdict))
        out = OutgoingEvent(id=uuid.uuid4(), type=reply.type, source="/tests/billing", nats_subject=reply.subject(),
                            subject=str(command.booking_id), time=datetime.now(UTC), organization_id=self.org,
                            data=encode_data(reply))
        await self.js.publish(out.nats_subject, out.data, headers=out.headers())

    def sent(self, type_):
        return [data for t, data in self.commands if t == type_.type]


@asynccontextmanager
async def billing_answering(org, nats_url):
    fake = FakeBilling(org)
    nc = await nats.connect(nats_url)
    fake.js = nc.jetstream()
    await nc.subscribe("billing.command.>", cb=fake.on_message)
    try:
        yield fake
    finally:
        await asyncio.sleep(0.1)
        await nc.close()


@pytest.fixture
async def fake_billing(studio, nats_url):
    async with billing_answering(studio.org, nats_url) as fake:
        yield fake


@pytest.fixture
async def one_connection(service_app, minter, nats_url):
    """A studio on a booking service whose requests share one database connection, and billing."""
    async with service_app(create_app, BookingSettings, MIGRATIONS, db_pool_size=1, db_max_overflow=0,
                           sync_wait_seconds=0.2) as (app, client):
        studio = Studio(app, client, minter)
        async with billing_answering(studio.org, nats_url) as fake:
            yield studio, fake


@pytest.fixture
async def patient(service_app, minter, nats_url):
    """A studio whose sagas wait a minute for billing and whose requests answer at once (202), and billing."""
    async with service_app(create_app, BookingSettings, MIGRATIONS, saga_timeout_seconds=60,
                           sync_wait_seconds=0.1) as (app, client):
        studio = Studio(app, client, minter)
        async with billing_answering(studio.org, nats_url) as fake:
            yield studio, fake
