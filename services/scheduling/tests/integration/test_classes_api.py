"""Scheduling against real PostgreSQL and NATS: plan classes, browse them, events on the bus."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import nats
import pytest
import sqlalchemy as sa

from scheduling.adapters.tables import studios
from scheduling.unit_of_work import SchedulingUnitOfWork
from studio_contracts import identity
from studio_platform.testing import eventually


async def seed_directory(app, org, studio_id, instructor_id, *, time_zone="Europe/London"):
    """Deliver the identity events scheduling would receive, through its own handlers."""
    from scheduling import handlers

    meta = None
    async with app.state.uow() as uow:
        await handlers.remember_studio(identity.StudioCreated(organization_id=org, studio_id=studio_id,
                                                              name="Camden", time_zone=time_zone), meta, uow)
        await handlers.remember_member(identity.MemberJoined(organization_id=org, user_id=instructor_id,
                                                             name="Sarah Johnson", email="s@example.com",
                                                             role="instructor"), meta, uow)
        await uow.commit()


@pytest.fixture
def tenant(minter):
    org, studio, instructor, owner = (uuid.uuid4() for _ in range(4))
    return {
        "org": org, "studio": studio, "instructor": instructor,
        "owner": {"Authorization": "Bearer " + minter.token(user_id=owner, organization_id=org, roles=("owner",))},
        "client": {"Authorization": "Bearer " + minter.token(organization_id=org, roles=("client",))},
    }


async def make_class(client, tenant, starts_at, **extra):
    ct = await client.post("/v1/class-types", headers=tenant["owner"], json={
        "name": f"Reformer {uuid.uuid4().hex[:4]}", "colour": "#ff6b35", "default_capacity": 12,
        "default_duration_minutes": 50})
    assert ct.status_code == 201, ct.text
    response = await client.post("/v1/classes", headers=tenant["owner"], json={
        "class_type_id": ct.json()["id"], "studio_id": str(tenant["studio"]),
        "instructor_id": str(tenant["instructor"]), "starts_at": starts_at.isoformat(), **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_schedule_and_browse_with_local_times(scheduling, tenant):
    app, client = scheduling
    await seed_directory(app, tenant["org"], tenant["studio"], tenant["instructor"])
    # 06:30 and 18:00 London time on a summer day next year.
    day = datetime(datetime.now(UTC).year + 1, 7, 1, tzinfo=UTC)
    morning = await make_class(client, tenant, day.replace(hour=5, minute=30))
    evening = await make_class(client, tenant, day.replace(hour=17))
    assert morning["local_start_time"] == "06:30"
    assert morning["late_cancel_cutoff"].startswith(f"{day.year}-06-30T17:30")
    assert morning["availability"] == {"capacity": 12, "booked": 0, "spots_left": 12, "is_full": False,
                                       "waitlisted": 0}

    params = {"from": (day - timedelta(days=1)).isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    everything = await client.get("/v1/classes", headers=tenant["client"], params=params)
    assert [c["id"] for c in everything.json()["items"]] == [morning["id"], evening["id"]]
    mornings = await client.get("/v1/classes", headers=tenant["client"], params={**params, "time_of_day": "morning"})
    assert [c["id"] for c in mornings.json()["items"]] == [morning["id"]]
    first_page = await client.get("/v1/classes", headers=tenant["client"], params={**params, "limit": 1})
    second = await client.get("/v1/classes", headers=tenant["client"],
                              params={**params, "limit": 1, "cursor": first_page.json()["next_cursor"]})
    assert [c["id"] for c in second.json()["items"]] == [evening["id"]]


async def test_every_change_is_published_in_order(scheduling, tenant, nats_url):
    app, client = scheduling
    await seed_directory(app, tenant["org"], tenant["studio"], tenant["instructor"])
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.subscribe("scheduling.class.>", ordered_consumer=True,
                             deliver_policy=nats.js.api.DeliverPolicy.NEW)
    created = await make_class(client, tenant, datetime.now(UTC) + timedelta(days=3))
    moved = await client.patch(f"/v1/classes/{created['id']}", headers=tenant["owner"],
                               json={"capacity": 8, "expected_version": 1})
    assert moved.status_code == 200 and moved.json()["version"] == 2
    cancelled = await client.post(f"/v1/classes/{created['id']}/cancel", headers=tenant["owner"],
                                  json={"reason": "Instructor ill"})
    assert cancelled.json()["status"] == "cancelled"

    seen = []
    while len(seen) < 3:
        msg = await sub.next_msg(timeout=10)
        if msg.headers.get("ce-subject") == created["id"]:
            seen.append((msg.headers["ce-type"], json.loads(msg.data)["version"], msg.headers["Nats-Msg-Id"]))
    await nc.close()
    assert [(t, v) for t, v, _ in seen] == [("scheduling.class.scheduled.v1", 1), ("scheduling.class.updated.v1", 2),
                                           ("scheduling.class.cancelled.v1", 3)]
    assert len({msg_id for _, _, msg_id in seen}) == 3


async def test_staff_rules_and_bad_input(scheduling, tenant, minter):
    app, client = scheduling
    await seed_directory(app, tenant["org"], tenant["studio"], tenant["instructor"])
    soon = datetime.now(UTC) + timedelta(days=2)
    created = await make_class(client, tenant, soon)

    as_client = await client.post(f"/v1/classes/{created['id']}/cancel", headers=tenant["client"], json={})
    assert as_client.status_code == 403
    assert as_client.headers["content-type"] == "application/problem+json"
    stale = await client.patch(f"/v1/classes/{created['id']}", headers=tenant["owner"],
                               json={"capacity": 5, "expected_version": 7})
    assert stale.status_code == 409 and stale.json()["code"] == "stale-version"
    past = await client.post("/v1/classes", headers=tenant["owner"], json={
        "class_type_id": created["class_type_id"], "studio_id": str(tenant["studio"]),
        "instructor_id": str(tenant["instructor"]), "starts_at": "2001-01-01T10:00:00Z"})
    assert past.status_code == 422 and past.json()["code"] == "starts-in-past"
    naive = await client.get("/v1/classes", headers=tenant["client"], params={"from": "2030-01-01T10:00:00"})
    assert naive.status_code == 422
    malformed = await client.post("/v1/class-types", headers={**tenant["owner"], "content-type": "application/json"},
                                  content=b"{not json")
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed-json"
    wrong_type = await client.post("/v1/class-types", headers=tenant["owner"],
                                   json={"name": "X", "colour": "#000000", "default_capacity": "many",
                                         "default_duration_minutes": 30})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["invalid_params"][0]["name"] == "default_capacity"
    nul = await client.post("/v1/class-types", headers=tenant["owner"],
                            json={"name": "Yoga\u0000", "colour": "#000000", "default_capacity": 10,
                                  "default_duration_minutes": 30})
    assert nul.status_code == 422 and nul.json()["invalid_params"][0]["name"] == "name"  # not a 500 from PostgreSQL
    unknown = await client.get(f"/v1/classes/{uuid.uuid4()}", headers=tenant["client"])
    assert unknown.status_code == 404

    # Another organization's token sees nothing of this one.
    stranger = {"Authorization": "Bearer " + minter.token(organization_id=uuid.uuid4(), roles=("owner",))}
    assert (await client.get(f"/v1/classes/{created['id']}", headers=stranger)).status_code == 404
    cancel_other = await client.post(f"/v1/classes/{created['id']}/cancel", headers=stranger, json={})
    assert cancel_other.status_code == 404


async def test_tokens_are_checked(scheduling, tenant, minter):
    _, client = scheduling
    missing = await client.get("/v1/classes")
    assert missing.status_code == 401 and missing.json()["code"] == "missing-token"
    expired = minter.token(organization_id=tenant["org"], now=datetime.now(UTC).timestamp() - 3600, ttl_seconds=60)
    response = await client.get("/v1/classes", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["code"] == "token-expired"
    good = tenant["client"]["Authorization"]
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    response = await client.get("/v1/classes", headers={"Authorization": tampered})
    assert response.status_code == 401 and response.json()["code"] == "invalid-token"


async def test_studio_copy_follows_identity_events_off_the_bus(scheduling, nats_url):
    """The consumer path: an identity event published on NATS lands in scheduling's copy."""
    app, _ = scheduling
    from studio_platform.envelope import OutgoingEvent, encode_data

    org, studio_id = uuid.uuid4(), uuid.uuid4()
    event = identity.StudioCreated(organization_id=org, studio_id=studio_id, name="Soho", time_zone="Europe/London")
    out = OutgoingEvent(id=uuid.uuid4(), type=event.type, source="/gateway", nats_subject=event.subject(),
                        subject=str(studio_id), time=datetime.now(UTC), organization_id=org, data=encode_data(event))
    nc = await nats.connect(nats_url)
    for _ in range(2):  # delivered twice: the inbox makes the second harmless
        headers = {**out.headers(), "Nats-Msg-Id": str(uuid.uuid4())}
        await nc.jetstream().publish(out.nats_subject, out.data, headers=headers)
    await nc.close()

    async def copied():
        async with app.state.uow() as uow:
            assert isinstance(uow, SchedulingUnitOfWork)
            rows = (await uow.db.execute(studios.select().where(studios.c.id == studio_id))).all()
            return rows if rows and rows[0].name == "Soho" else None

    assert await eventually(copied)


async def test_browse_shows_bookings_seat_counts_newest_first_wins(scheduling, tenant):
    from scheduling import handlers
    from studio_contracts import booking

    app, client = scheduling
    await seed_directory(app, tenant["org"], tenant["studio"], tenant["instructor"])
    lesson = await make_class(client, tenant, datetime.now(UTC) + timedelta(days=1))

    def report(confirmed, version):
        return booking.ClassAvailabilityChanged(
            organization_id=tenant["org"], class_id=lesson["id"], studio_id=tenant["studio"], capacity=12,
            confirmed=confirmed, pending=1, spots_left=11 - confirmed, waitlisted=0, seats_version=version)

    async def record(*events):
        async with app.state.uow() as uow:
            await handlers.record_seats([(event, None) for event in events], uow)
            await uow.commit()
        return (await client.get(f"/v1/classes/{lesson['id']}", headers=tenant["client"])).json()["availability"]

    for event in (report(5, 2), report(3, 1)):  # the older report arrives last
        seen = await record(event)
    assert seen == {"capacity": 12, "booked": 6, "spots_left": 6, "is_full": False, "waitlisted": 0}
    # In one batch, the newest of a class's counts wins wherever it stands; an older one changes nothing.
    assert (await record(report(7, 4), report(9, 5), report(8, 3)))["booked"] == 10
    assert (await record(report(1, 5), report(2, 4)))["booked"] == 10


async def test_seat_counts_off_the_bus_are_applied_by_version_and_keep_no_inbox(scheduling, tenant, nats_url):
    """The consumer path for booking's seat counts: delivered twice and out of order, the newest wins, and no
    inbox row is written for them (a snapshot kept by version needs none)."""
    from studio_contracts import booking
    from studio_platform.envelope import OutgoingEvent, encode_data
    from studio_platform.inbox import INBOX

    app, client = scheduling
    await seed_directory(app, tenant["org"], tenant["studio"], tenant["instructor"])
    lesson = await make_class(client, tenant, datetime.now(UTC) + timedelta(days=1))

    def outgoing(confirmed, version):
        event = booking.ClassAvailabilityChanged(
            organization_id=tenant["org"], class_id=lesson["id"], studio_id=tenant["studio"], capacity=12,
            confirmed=confirmed, pending=0, spots_left=12 - confirmed, waitlisted=0, seats_version=version)
        return OutgoingEvent(id=uuid.uuid4(), type=event.type, source="/services/booking",
                             nats_subject=event.subject(), subject=str(lesson["id"]), time=datetime.now(UTC),
                             organization_id=tenant["org"], data=encode_data(event))

    nc = await nats.connect(nats_url)
    for out in (outgoing(4, 2), outgoing(4, 2), outgoing(3, 1)):  # a repeat, then an older count
        await nc.jetstream().publish(out.nats_subject, out.data, headers={**out.headers(),
                                                                          "Nats-Msg-Id": str(uuid.uuid4())})
    await nc.close()

    async def booked():
        reply = await client.get(f"/v1/classes/{lesson['id']}", headers=tenant["client"])
        return reply.json()["availability"]["booked"]

    assert await eventually(booked, until=lambda n: n == 4) == 4
    await asyncio.sleep(0.5)  # the older count, gathered with the others or after them, changes nothing
    assert await booked() == 4
    async with app.state.uow() as uow:
        rows = (await uow.db.execute(sa.select(sa.func.count()).select_from(INBOX).where(
            INBOX.c.organization_id == tenant["org"]))).scalar()
    assert rows == 0
