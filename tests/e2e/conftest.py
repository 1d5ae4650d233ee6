"""The whole platform as processes, started once for the end-to-end tests."""

import asyncio
import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devstack.invariants import violations, wait_until_settled
from devstack.stack import Stack
from studio_platform.testing import eventually

IN_TWO_DAYS = timedelta(days=2)


@pytest.fixture(scope="session")
def stack(database_server_url, nats_url):
    tag = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="studio-e2e-") as state:
        platform = Stack(nats_url=nats_url, database_url=database_server_url, state_dir=Path(state),
                         database_prefix=f"e2e_{tag}_", durable_prefix=f"e2e{tag}-",
                         extra_env={"LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
                                    "CONSUMER_START": "new",  # earlier tests' events are not this stack's
                                    # Every test caller comes from 127.0.0.1: sign-ups must not starve.
                                    "RATE_LIMIT_AUTH": "10000/minute", "RATE_LIMIT_DEFAULT": "120/minute",
                                    "RATE_LIMIT_BOOKING": "10000/minute",
                                    # A class-full answer given again at the edge stands until booking
                                    # announces a change, not until a timer ends it.
                                    "SOLD_OUT_ANSWER_SECONDS": "600"})
        try:
            platform.start()
            yield platform
        finally:
            platform.stop()


@pytest.fixture
async def gateway(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client


class Person:
    def __init__(self, email: str, user_id: str, token: str) -> None:
        self.email, self.user_id, self.token = email, user_id, token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Studio:
    """One organization driven through the public API: an owner, a studio, clients with credits."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def ok(self, method: str, path: str, who: Person, **kwargs) -> dict:
        response = await self.http.request(method, path, headers=who.headers, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else {}

    async def sign_up(self, name: str) -> Person:
        email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:8]}@example.com"
        response = await self.http.post("/v1/auth/signup", json={"email": email, "password": "correct horse battery",
                                                                  "name": name})
        assert response.status_code == 201, response.text
        body = response.json()
        return Person(email, body["user"]["id"], body["access_token"])

    async def open(self, *, capacity: int = 20, pack_credits: int = 10) -> "Studio":
        self.owner = await self.sign_up("Olivia Owner")
        created = await self.ok("POST", "/v1/organizations", self.owner, json={"name": "Saga Studio"})
        self.org = created["organization"]["id"]
        self.owner.token = created["tokens"]["access_token"]
        self.studio = await self.ok("POST", "/v1/studios", self.owner,
                                    json={"name": "Camden", "time_zone": "Europe/London"})
        self.class_type = await self.ok("POST", "/v1/class-types", self.owner, json={
            "name": "Reformer", "colour": "#ff6b35", "default_capacity": capacity, "default_duration_minutes": 50})
        self.pack = await self.ok("POST", "/v1/products", self.owner, json={
            "kind": "class_pack", "name": f"{pack_credits}-class pack", "price": {"amount_minor": 9000,
                                                                                  "currency": "GBP"},
            "credits": pack_credits, "validity_days": 90})
        return self

    async def schedule(self, *, starts_in: timedelta = IN_TWO_DAYS, capacity: int | None = None) -> dict:
        start = (datetime.now(UTC) + starts_in).replace(microsecond=0)
        body = {"class_type_id": self.class_type["id"], "studio_id": self.studio["id"],
                "instructor_id": self.owner.user_id, "starts_at": start.isoformat()}
        if capacity:
            body["capacity"] = capacity

        async def scheduled():
            response = await self.http.post("/v1/classes", headers=self.owner.headers, json=body)
            assert response.status_code == 201, response.text  # 422 until scheduling knows the new studio
            return response.json()

        lesson = await eventually(scheduled, timeout=15, interval=0.2)

        async def bookable():  # booking learns of the class from scheduling's event
            return (await self.http.get(f"/v1/classes/{lesson['id']}/availability",
                                        headers=self.owner.headers)).status_code == 200

        await eventually(bookable, timeout=15)
        return lesson

    async def client(self, name: str = "Client", *, credits: bool = True) -> Person:
        person = await self.sign_up(name)
        invitation = await self.ok("POST", "/v1/invitations", self.owner, json={"email": person.email,
                                                                                "role": "client"})
        joined = await self.ok("POST", "/v1/invitations/accept", person, json={"token": invitation["accept_token"]})
        person.token = joined["tokens"]["access_token"]
        if credits:
            await self.ok("POST", f"/v1/clients/{person.user_id}/packages", self.owner,
                          json={"product_id": self.pack["id"]})
        return person

    async def clients(self, count: int, **kwargs) -> list[Person]:
        gate = asyncio.Semaphore(16)  # sign-ups hash passwords: a few at a time is as fast, and kinder

        async def one(i: int) -> Person:
            async with gate:
                return await self.client(f"Client {i}", **kwargs)

        return list(await asyncio.gather(*(one(i) for i in range(count))))

    async def book(self, lesson: dict, who: Person, **headers: str) -> httpx.Response:
        return await self.http.post(f"/v1/classes/{lesson['id']}/bookings", headers={**who.headers, **headers})

    async def settled(self, stack: Stack) -> list[str]:
        """Wait for every saga to end, then every broken invariant (none, we hope)."""
        urls = stack.databases
        await wait_until_settled(urls["booking"], uuid.UUID(self.org))
        await asyncio.sleep(0.5)  # let the last credit commands land in billing
        return await violations(urls["booking"], urls["billing"], uuid.UUID(self.org))


@pytest.fixture
async def studio(gateway):
    return await Studio(gateway).open()


@pytest.fixture
def driver():
    """The API driver itself, for tests that run a platform of their own."""
    return Studio
