"""Real PostgreSQL and NATS (from `make test`): a throwaway database and the identity routes running."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager

from gateway import identity
from gateway.config import GatewaySettings
from gateway.identity.adapters import migrations
from studio_platform.auth import Principal, TokenVerifier
from studio_platform.db import plain_url
from studio_platform.pytest_plugin import fresh_database
from studio_platform.service import ServiceDefinition, build_service_app
from studio_platform.testing import drop_database, published, recreate_database

MIGRATIONS = Path(migrations.__path__[0])


@pytest.fixture(scope="session")
def migrations_dir() -> Path:
    return MIGRATIONS


@pytest.fixture(scope="session")
def database_url(database_server_url):
    """The session's database, migrated to head."""
    name = f"gateway_test_{os.getpid()}"
    yield fresh_database(database_server_url, name, MIGRATIONS)
    asyncio.run(drop_database(database_server_url, name))


@pytest_asyncio.fixture(loop_scope="session")
async def empty_database_url(database_server_url):
    """A database of this test's own, with nothing in it."""
    name = f"gateway_scratch_{uuid.uuid4().hex[:8]}"
    yield await recreate_database(database_server_url, name)
    await drop_database(database_server_url, name)


@pytest.fixture(scope="session")
def settings(database_url, nats_url) -> GatewaySettings:
    return GatewaySettings(database_url=database_url, nats_url=nats_url, outbox_poll_seconds=0.2,
                           log_json=False, log_level="WARNING", public_url="https://studio.example")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(settings):
    app = build_service_app(ServiceDefinition(
        name="gateway", title="Gateway identity (test)", description="Identity routes only.", settings=settings,
        uow_class=identity.IdentityUnitOfWork, publishes=["IDENTITY"], routers=identity.routers()))
    identity.install(app, settings)
    async with LifespanManager(app):
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway.test") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def db(database_url):
    conn = await asyncpg.connect(plain_url(database_url))
    yield conn
    await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def verify(client):
    """Checks an access token as any service would: against the published JWKS."""
    keys = (await client.get("/.well-known/jwks.json")).json()
    verifier = TokenVerifier(issuer="studio-gateway", audience="studio-api", jwks=json.dumps(keys))

    async def check(token: str) -> Principal:
        return await verifier.verify(token)

    return check


@dataclass
class Person:
    """A signed-up person driving the API with their own tokens."""

    client: httpx.AsyncClient
    name: str
    email: str
    password: str
    user_id: str
    access_token: str
    refresh_token: str
    organization_id: str | None = None

    def use(self, tokens: dict) -> None:
        self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]

    async def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def start_organization(self, name: str = "Yoga Loft") -> dict:
        reply = await self.request("POST", "/v1/organizations", json={"name": name})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        self.use(body["tokens"])
        self.organization_id = body["organization"]["id"]
        return body

    async def add_studio(self, name: str = "North", time_zone: str = "Europe/Berlin") -> str:
        reply = await self.request("POST", "/v1/studios", json={"name": name, "time_zone": time_zone})
        assert reply.status_code == 201, reply.text
        return reply.json()["id"]

    async def invite(self, person: Person, role: str, studio_ids: tuple[str, ...] = ()) -> dict:
        reply = await self.request("POST", "/v1/invitations",
                                   json={"email": person.email, "role": role, "studio_ids": list(studio_ids)})
        assert reply.status_code == 201, reply.text
        return reply.json()

    async def accept(self, invitation: dict) -> httpx.Response:
        reply = await self.request("POST", "/v1/invitations/accept", json={"token": invitation["accept_token"]})
        if reply.status_code == 200:
            self.use(reply.json()["tokens"])
            self.organization_id = reply.json()["organization"]["id"]
        return reply


@pytest.fixture
def sign_up(client):
    async def sign_up(name: str = "Ann Lee") -> Person:
        email = f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@studio.example"
        password = "correct horse battery"
        reply = await client.post("/v1/auth/signup", json={"email": email, "password": password, "name": name})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return Person(client, name, email, password, body["user"]["id"], body["access_token"], body["refresh_token"])

    return sign_up


@pytest_asyncio.fixture(loop_scope="session")
async def owner(sign_up) -> Person:
    """The owner of a fresh organization."""
    person = await sign_up("Olga Owner")
    await person.start_organization(f"Yoga Loft {uuid.uuid4().hex[:6]}")
    return person


@pytest_asyncio.fixture(loop_scope="session")
async def member_of(sign_up):
    """A new person who joined the owner's organization by invitation, in a role."""

    async def member_of(owner: Person, role: str, studio_ids: tuple[str, ...] = (), name: str = "Mia Member"):
        person = await sign_up(name)
        reply = await person.accept(await owner.invite(person, role, studio_ids))
        assert reply.status_code == 200, reply.text
        return person

    return member_of


@pytest_asyncio.fixture(loop_scope="session")
async def events(database_url, nats_url):
    """What an organization's changes published on the IDENTITY stream, in order, once the outbox has sent all of
    them: each with its CloudEvents id, type, subject and data, its headers and its NATS subject."""
    nc = await nats.connect(nats_url)

    async def read(organization_id: str) -> list[dict]:
        return [{"id": msg.headers["ce-id"], "type": msg.headers["ce-type"], "subject": msg.headers.get("ce-subject"),
                 "data": json.loads(msg.data), "headers": msg.headers, "nats_subject": msg.subject}
                for msg in await published(database_url, nc.jetstream(), "identity.>", organization_id)]

    yield read
    await nc.close()


def assert_problem(reply: httpx.Response, status: int, code: str | None = None) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def problem():
    return assert_problem
