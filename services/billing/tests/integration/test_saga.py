"""Booking's credit commands over real NATS, answered by billing from real PostgreSQL."""

import json
import uuid
from datetime import timedelta

import nats
import sqlalchemy as sa

from billing.adapters.checks import reservation_states
from billing.adapters.tables import credit_entries, reservations
from studio_contracts import billing as contracts

from .support import UNLIMITED, assert_ledger_consistent, credits_of, reserve, sell


async def test_a_reserve_is_answered_with_the_package_and_what_is_left(billing, tenant, bus):
    app, client = billing
    package = await sell(client, tenant, tenant["alice"])
    command = reserve(tenant, tenant["alice"])
    await bus.send(command)
    [(kind, answer)] = await bus.answers(command.booking_id, 1)
    assert kind == "billing.credit.reserved.v1"
    assert answer["package_id"] == package["id"] and answer["package_name"] == "10-class pack"
    assert (answer["credits"], answer["remaining"]) == (1, 9)
    totals = (await credits_of(client, tenant, tenant["alice"]))["totals"]
    assert (totals["available"], totals["held"]) == (9, 1)
    await assert_ledger_consistent(app, tenant["org"])


async def test_the_same_command_twice_is_one_reservation_and_two_identical_answers(billing, tenant, bus):
    app, client = billing
    await sell(client, tenant, tenant["alice"])
    command = reserve(tenant, tenant["alice"])
    first = await bus.send(command)
    await bus.send(command)  # booking sent it again, as a new message
    await bus.send(command, event_id=first)  # and the first redelivered: the inbox drops it
    answers = await bus.answers(command.booking_id, 2)
    assert answers[0] == answers[1] and answers[0][0] == "billing.credit.reserved.v1"
    assert await bus.nothing_more(command.booking_id, 2)
    async with app.state.engine.connect() as conn:
        taken = await conn.scalar(sa.select(sa.func.count()).select_from(credit_entries).where(
            credit_entries.c.booking_id == command.booking_id))
        assert taken == 1
    assert (await credits_of(client, tenant, tenant["alice"]))["totals"]["held"] == 1


async def test_distinct_bookings_take_exactly_the_credits_there_are(billing, tenant, bus):
    app, client = billing
    await sell(client, tenant, tenant["alice"], {"name": "3-class pack", "credits": 3})
    commands = [reserve(tenant, tenant["alice"]) for _ in range(5)]
    for command in commands:
        await bus.send(command)
    outcomes = [(await bus.answers(c.booking_id, 1))[0] for c in commands]
    assert [kind.split(".")[2] for kind, _ in outcomes].count("reserved") == 3
    refused = [data for kind, data in outcomes if kind == "billing.credit.rejected.v1"]
    assert [r["reason"] for r in refused] == ["no-credits", "no-credits"]
    assert sorted(d.get("remaining") for k, d in outcomes if k.endswith("reserved.v1")) == [0, 1, 2]
    async with app.state.engine.connect() as conn:
        states = await reservation_states(conn, tenant["org"])
    assert sorted(states.values()) == ["rejected", "rejected", "reserved", "reserved", "reserved"]


async def test_a_class_after_the_pack_expires_is_refused_as_expired(billing, tenant, bus):
    _, client = billing
    await sell(client, tenant, tenant["alice"])
    late = reserve(tenant, tenant["alice"], starts_in=timedelta(days=91))
    await bus.send(late)
    [(kind, answer)] = await bus.answers(late.booking_id, 1)
    assert kind == "billing.credit.rejected.v1" and answer["reason"] == "expired"
    nobody = reserve(tenant, tenant["bob"])
    await bus.send(nobody)
    [(_, answer)] = await bus.answers(nobody.booking_id, 1)
    assert answer["reason"] == "no-credits"


async def test_a_release_that_overtakes_the_reserve_leaves_a_tombstone(billing, tenant, bus):
    app, client = billing
    await sell(client, tenant, tenant["alice"])
    command = reserve(tenant, tenant["alice"])
    release = contracts.ReleaseCredit(organization_id=tenant["org"], booking_id=command.booking_id,
                                      client_id=tenant["alice"], reason="saga deadline passed")
    await bus.send(release)
    [(kind, released)] = await bus.answers(command.booking_id, 1)
    assert kind == "billing.credit.released.v1" and (released["credits"], released["package_id"]) == (0, None)
    await bus.send(command)
    [_, (kind, refused)] = await bus.answers(command.booking_id, 2)
    assert kind == "billing.credit.rejected.v1" and refused["reason"] == "cancelled"
    assert (await credits_of(client, tenant, tenant["alice"]))["totals"]["available"] == 10
    await assert_ledger_consistent(app, tenant["org"])


async def test_release_refund_and_consume_settle_each_held_credit_once(billing, tenant, bus):
    app, client = billing
    package = await sell(client, tenant, tenant["alice"])
    held = [reserve(tenant, tenant["alice"]) for _ in range(3)]
    for command in held:
        await bus.send(command)
    for command in held:
        await bus.answers(command.booking_id, 1)
    org, alice = tenant["org"], tenant["alice"]
    settle = [
        contracts.ReleaseCredit(organization_id=org, booking_id=held[0].booking_id, client_id=alice,
                                reason="booking failed"),
        contracts.RefundCredit(organization_id=org, booking_id=held[1].booking_id, client_id=alice,
                               reason="cancelled in time"),
        contracts.ConsumeCredit(organization_id=org, booking_id=held[2].booking_id, client_id=alice,
                                reason="attended"),
    ]
    for command in settle + settle:  # every settlement twice: the repeats change nothing
        await bus.send(command)
    expected = ["billing.credit.released.v1", "billing.credit.refunded.v1", "billing.credit.consumed.v1"]
    for command, kind in zip(held, expected, strict=True):
        answers = await bus.answers(command.booking_id, 2)
        assert answers[1][0] == kind
        assert answers[1][1]["package_id"] == package["id"] and answers[1][1]["credits"] == 1
        assert await bus.nothing_more(command.booking_id, 2, wait=0.3)
    assert (await bus.answers(held[2].booking_id, 2))[1][1]["reason"] == "attended"
    totals = (await credits_of(client, tenant, alice))["totals"]
    assert {k: totals[k] for k in ("granted", "available", "held", "spent")} == {
        "granted": 10, "available": 9, "held": 0, "spent": 1}
    async with app.state.engine.connect() as conn:
        states = await reservation_states(conn, org)
    assert sorted(states.values()) == ["consumed", "refunded", "released"]
    await assert_ledger_consistent(app, org)


async def test_an_unlimited_membership_books_without_counting(billing, tenant, bus):
    app, client = billing
    package = await sell(client, tenant, tenant["alice"], UNLIMITED)
    commands = [reserve(tenant, tenant["alice"], starts_in=timedelta(days=1, hours=h)) for h in range(3)]
    for command in commands:
        await bus.send(command)
    for command in commands:
        [(kind, answer)] = await bus.answers(command.booking_id, 1)
        assert kind == "billing.credit.reserved.v1" and answer["package_id"] == package["id"]
        assert (answer["credits"], answer["remaining"]) == (0, None)
    balance = await credits_of(client, tenant, tenant["alice"])
    assert balance["unlimited"] and balance["totals"]["held"] == 0
    await assert_ledger_consistent(app, tenant["org"])


async def test_a_first_use_pack_starts_its_clock_at_the_first_booking(billing, tenant, bus):
    _, client = billing
    package = await sell(client, tenant, tenant["alice"], {"name": "5 from first use", "credits": 5,
                                                           "validity_days": 30, "validity_from": "first_use"})
    assert package["expires_at"] is None
    command = reserve(tenant, tenant["alice"])
    await bus.send(command)
    await bus.answers(command.booking_id, 1)
    [now_package] = (await client.get(f"/v1/clients/{tenant['alice']}/packages", headers=tenant["owner"])).json()
    assert now_package["expires_at"] is not None


async def test_a_refund_for_an_unknown_booking_is_parked_on_the_dead_letter_stream(billing, tenant, bus, nats_url):
    nc = await nats.connect(nats_url)
    dead = await nc.jetstream().subscribe("deadletter.>", ordered_consumer=True,
                                          deliver_policy=nats.js.api.DeliverPolicy.NEW)
    stray = contracts.RefundCredit(organization_id=tenant["org"], booking_id=uuid.uuid4(), client_id=tenant["alice"],
                                   reason="cancelled in time")
    await bus.send(stray)
    while True:
        msg = await dead.next_msg(timeout=15)
        if json.loads(msg.data).get("booking_id") == str(stray.booking_id):
            break
    await nc.close()
    assert msg.headers["x-dead-letter-reason"].startswith("NotFound: No credit was reserved")
    async with billing[0].state.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(reservations)) == 0
