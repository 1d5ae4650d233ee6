"""Helpers for billing's integration tests: selling at the desk, and talking to billing as booking does."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import nats

from billing.adapters.checks import credit_invariant_violations
from studio_contracts import billing as contracts
from studio_platform.envelope import OutgoingEvent, encode_data

PACK = {"kind": "class_pack", "name": "10-class pack", "price": {"amount_minor": 12000, "currency": "GBP"},
        "credits": 10, "validity_days": 90}
KICKSTARTER = {"kind": "membership", "name": "Kickstarter", "price": {"amount_minor": 29700, "currency": "GBP"},
               "duration_days": 42, "credits_per_week": 5, "features": ["HR monitor included"]}
UNLIMITED = {"kind": "membership", "name": "Unlimited monthly", "price": {"amount_minor": 12900, "currency": "GBP"},
             "duration_days": 30, "credits_per_week": None}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def sell(client, tenant, client_id, product=None, **package):
    """Create the product (once per name) and issue it to the client, as the owner at the desk would."""
    product = product if product and product.get("kind") == "membership" else {**PACK, **(product or {})}
    created = await client.post("/v1/products", headers=tenant["owner"], json=product)
    if created.status_code == 409:
        listed = await client.get("/v1/products", headers=tenant["owner"], params={"include_inactive": True})
        product_id = next(p["id"] for p in listed.json() if p["name"] == product["name"])
    else:
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
    body = {"product_id": product_id, **{k: v.isoformat() if isinstance(v, datetime) else v
                                         for k, v in package.items()}}
    issued = await client.post(f"/v1/clients/{client_id}/packages", headers=tenant["owner"], json=body)
    assert issued.status_code == 201, issued.text
    return issued.json()


def reserve(tenant, client_id, *, booking_id=None, starts_in=timedelta(days=2), starts_at=None):
    return contracts.ReserveCredit(organization_id=tenant["org"], booking_id=booking_id or uuid.uuid4(),
                                   client_id=client_id, class_id=uuid.uuid4(), studio_id=uuid.uuid4(),
                                   class_starts_at=starts_at or datetime.now(UTC) + starts_in)


async def credits_of(client, tenant, client_id):
    response = await client.get(f"/v1/clients/{client_id}/credits", headers=tenant["owner"])
    assert response.status_code == 200, response.text
    return response.json()


async def assert_ledger_consistent(app, org):
    async with app.state.engine.connect() as conn:
        assert await credit_invariant_violations(conn, org) == []


class Bus:
    """Publishes commands onto NATS as booking's outbox relay would, and reads billing's events off it."""

    def __init__(self, nc, sub):
        self.nc, self.sub, self.seen = nc, sub, []

    async def send(self, command, *, event_id=None):
        out = OutgoingEvent(id=event_id or uuid.uuid4(), type=command.type, source="/services/booking",
                            nats_subject=command.subject(), subject=str(command.booking_id),
                            time=datetime.now(UTC), organization_id=command.organization_id,
                            data=encode_data(command))
        await self.nc.jetstream().publish(out.nats_subject, out.data, headers=out.headers())
        return out.id

    def _about(self, key, value):
        return [(t, d) for t, d in self.seen if d.get(key) == str(value)]

    async def _read(self, timeout):
        msg = await self.sub.next_msg(timeout=timeout)
        if msg.headers and "ce-type" in msg.headers and not msg.subject.startswith("billing.command."):
            self.seen.append((msg.headers["ce-type"], json.loads(msg.data)))

    async def events(self, count, *, timeout=15.0, **about):
        """The first `count` events billing published whose data has these values: (ce-type, data), in order."""
        ((key, value),) = about.items()
        while len(self._about(key, value)) < count:
            await self._read(timeout)
        return self._about(key, value)[:count]

    async def first(self, ce_type, *, timeout=15.0, **about):
        """The data of the first event of this type whose data has these values."""
        ((key, value),) = about.items()
        while not (found := [d for t, d in self._about(key, value) if t == ce_type]):
            await self._read(timeout)
        return found[0]

    async def answers(self, booking_id, count, **kw):
        return await self.events(count, booking_id=booking_id, **kw)

    async def nothing_more(self, booking_id, count, *, wait=1.0):
        """No event about the booking beyond the `count` already seen arrives within `wait` seconds."""
        try:
            while True:
                await self._read(wait)
        except nats.errors.TimeoutError:
            pass
        return len(self._about("booking_id", booking_id)) == count
