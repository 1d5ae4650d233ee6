"""The benchmark's studio, made through the public API (the gateway) the way a studio would make it.

One owner, one studio, one class type, two class packs, one flash-sale class of 20 and
the steady classes of 50 (an hour apart, so no client's bookings overlap), and the
clients: each signs up, is invited by the owner and accepts. Calls run concurrently;
sign-ups dominate, as each hashes a password with argon2 on the gateway.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
RETRY = frozenset({429, 502, 503, 504})
FLASH_CAPACITY = 20
STEADY_CAPACITY = 50
CLASS_MINUTES = 50


class SetupFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Client:
    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Lesson:
    id: uuid.UUID
    capacity: int
    starts_at: datetime
    ends_at: datetime


@dataclass
class Studio:
    org: uuid.UUID
    owner: Client
    flash: Lesson
    steady: list[Lesson]
    products: dict[str, uuid.UUID]
    clients: list[Client] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


async def limited(limit: int, make: Callable[[T], Awaitable[Any]], items: Iterable[T]) -> list[Any]:
    """make(item) for every item, at most `limit` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with gate:
            return await make(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


class Api:
    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http

    async def call(self, method: str, path: str, who: Client | None = None, *, json: Any = None,
                   until_known: bool = False, timeout: float = 60.0) -> Any:
        """The answer's body; retries what a busy platform may say (429, 50x) and, with
        `until_known`, the 4xx a service answers until an event has taught it a new id."""
        deadline = time.monotonic() + timeout
        while True:
            async with self.http.request(method, path, json=json, headers=who.headers if who else None) as r:
                body = await r.json(content_type=None) if r.status != 204 else None
                if r.status < 300:
                    return body
                again = r.status in RETRY or (until_known and r.status in (404, 422))
                if not again or time.monotonic() > deadline:
                    raise SetupFailed(f"{method} {path}: {r.status} {body}")
            await asyncio.sleep(0.2)


async def open_studio(base_url: str, *, clients: int, steady_classes: int, concurrency: int = 64,
                      joining: int = 16) -> Studio:
    """`joining` bounds the sign-ups in flight: they are argon2-bound on the gateway (2 cores do a few
    dozen a second), and more in flight only starve its event loop until its pool times out."""
    tag = uuid.uuid4().hex[:8]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as http:
        api = Api(http)
        timings: dict[str, float] = {}
        started = time.monotonic()
        signed = await api.call("POST", "/v1/auth/signup", json={
            "email": f"owner.{tag}@example.com", "password": PASSWORD, "name": "Olivia Owner"})
        owner = Client(uuid.UUID(signed["user"]["id"]), signed["access_token"])
        made = await api.call("POST", "/v1/organizations", owner, json={"name": f"Bench Studio {tag}"})
        owner = Client(owner.id, made["tokens"]["access_token"])
        studio_id = (await api.call("POST", "/v1/studios", owner,
                                    json={"name": "Camden", "time_zone": "Europe/London"}))["id"]
        class_type = (await api.call("POST", "/v1/class-types", owner, json={
            "name": "Reformer", "colour": "#ff6b35", "default_capacity": STEADY_CAPACITY,
            "default_duration_minutes": CLASS_MINUTES}))["id"]
        products = {}
        for name, credits in (("flash", 1), ("steady", 10)):
            products[name] = uuid.UUID((await api.call("POST", "/v1/products", owner, json={
                "kind": "class_pack", "name": f"{credits}-class pack", "credits": credits, "validity_days": 90,
                "price": {"amount_minor": 1500 * credits, "currency": "GBP"}}))["id"])

        # Whole hours from tomorrow: the flash class first, then one steady class an hour.
        first = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)

        async def schedule(hour: int) -> Lesson:
            starts = first + timedelta(hours=hour)
            body = {"class_type_id": class_type, "studio_id": studio_id, "instructor_id": str(owner.id),
                    "starts_at": starts.isoformat()}
            if hour == 0:
                body["capacity"] = FLASH_CAPACITY
            found = await api.call("POST", "/v1/classes", owner, json=body, until_known=True)  # 422: studio unknown
            return Lesson(uuid.UUID(found["id"]), found["availability"]["capacity"],
                          datetime.fromisoformat(found["starts_at"]), datetime.fromisoformat(found["ends_at"]))

        lessons = await limited(16, schedule, range(steady_classes + 1))
        timings["owner, studio, products, classes"] = time.monotonic() - started

        started = time.monotonic()

        async def join(i: int) -> Client:
            email = f"client.{tag}.{i}@example.com"
            signed = await api.call("POST", "/v1/auth/signup", json={
                "email": email, "password": PASSWORD, "name": f"Client {i}"})
            person = Client(uuid.UUID(signed["user"]["id"]), signed["access_token"])
            invitation = await api.call("POST", "/v1/invitations", owner, json={"email": email, "role": "client"})
            joined = await api.call("POST", "/v1/invitations/accept", person,
                                    json={"token": invitation["accept_token"]})
            return Client(person.id, joined["tokens"]["access_token"])

        people = await limited(joining, join, range(clients))
        timings[f"{clients} clients: sign-up, invitation, acceptance"] = time.monotonic() - started

        started = time.monotonic()
        # Booking learns of each class from scheduling's events: wait until it knows them all.
        await limited(concurrency, lambda lesson: api.call("GET", f"/v1/classes/{lesson.id}/availability", owner,
                                                           until_known=True), lessons)
        timings["booking knows every class"] = time.monotonic() - started
    return Studio(org=uuid.UUID(made["organization"]["id"]), owner=owner, flash=lessons[0], steady=lessons[1:],
                  products=products, clients=people, timings=timings)


async def issue_packs(base_url: str, studio: Studio, product: str, *,
                      concurrency: int = 64) -> list[tuple[uuid.UUID, uuid.UUID, int, datetime]]:
    """Sell every client the product (paid at the desk); (package, client, credits, expires) of each."""
    credits = {"flash": 1, "steady": 10}[product]
    async with aiohttp.ClientSession(base_url, connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=120)) as http:
        api = Api(http)

        async def sell(client: Client) -> tuple[uuid.UUID, uuid.UUID, int, datetime]:
            package = await api.call("POST", f"/v1/clients/{client.id}/packages", studio.owner,
                                     json={"product_id": str(studio.products[product])})
            return uuid.UUID(package["id"]), client.id, credits, datetime.fromisoformat(package["expires_at"])

        return await limited(concurrency, sell, studio.clients)
