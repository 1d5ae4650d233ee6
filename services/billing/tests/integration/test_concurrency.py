"""Many units of work at once against one client's credits: the database, not Python, keeps them right."""

import asyncio
import json
import random
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from billing.adapters.checks import reservation_states
from billing.adapters.ledger import LedgerRepository
from billing.adapters.tables import credit_entries, credit_lots
from billing.handlers import saga
from studio_contracts import billing as contracts
from studio_platform.testing import published

from .support import assert_ledger_consistent, credits_of, reserve, sell


async def handle(app, handler, command):
    """As the consumer runs a handler: its own unit of work, committed after."""
    async with app.state.uow() as uow:
        await handler(command, None, uow)
        await uow.commit()


async def answers(app, org) -> list[tuple[str, str, dict]]:
    """Billing's answers to the organization's reserve commands so far, as published: (type, subject, data)."""
    url = app.state.engine.url.render_as_string(hide_password=False)
    return [(msg.headers["ce-type"], msg.headers["ce-subject"], json.loads(msg.data))
            for msg in await published(url, app.state.nats.jetstream(), "billing.credit.>", org)
            if msg.headers["ce-type"].split(".")[2] in ("reserved", "rejected")]


async def reserve_one(command, meta, uow):
    """A lone command, as the consumer hands it over: a run of one."""
    await saga.reserve_credits([(command, meta)], uow)


async def test_a_batch_of_reserves_takes_each_credit_once_even_from_lots_read_before_its_moves(billing, tenant):
    app, client = billing
    org, alice, bob = tenant["org"], tenant["alice"], tenant["bob"]
    await sell(client, tenant, alice, {"name": "3-class pack", "credits": 3})
    earlier = reserve(tenant, alice)
    await handle(app, reserve_one, earlier)
    first, second, third, bobs = reserve(tenant, alice), reserve(tenant, alice), reserve(tenant, alice), reserve(
        tenant, bob)
    batch = [first, earlier, second, first, third, bobs]  # `first` twice; `earlier` reserved before
    before = len(await answers(app, org))
    async with app.state.uow() as uow:  # as the consumer hands over a batch
        await saga.reserve_credits([(command, None) for command in batch], uow)
        await uow.commit()

    batch_answers = [(kind.split(".")[2], uuid.UUID(subject), data.get("remaining"), data.get("reason"))
                     for kind, subject, data in (await answers(app, org))[before:]]
    # The lots were read once, before the batch's moves: the third finds its lot empty, reads again, is refused.
    assert batch_answers == [("reserved", first.booking_id, 1, None), ("reserved", earlier.booking_id, 2, None),
                       ("reserved", second.booking_id, 0, None), ("reserved", first.booking_id, 1, None),
                       ("rejected", third.booking_id, None, "no-credits"),
                       ("rejected", bobs.booking_id, None, "no-credits")]
    async with app.state.engine.connect() as conn:
        states = await reservation_states(conn, org)
        reserves = await conn.scalar(sa.select(sa.func.count()).select_from(credit_entries).where(
            credit_entries.c.kind == "reserve"))
    assert [states[c.booking_id] for c in (earlier, first, second, third, bobs)] == [
        "reserved", "reserved", "reserved", "rejected", "rejected"]
    assert reserves == 3
    totals = (await credits_of(client, tenant, alice))["totals"]
    assert (totals["available"], totals["held"]) == (0, 3)
    await assert_ledger_consistent(app, org)


async def test_a_batch_takes_each_clients_credit_from_their_own_lot_and_records_it_for_their_booking(
        billing, tenant, monkeypatch):
    app, client = billing
    org = tenant["org"]
    people = [tenant["alice"], tenant["bob"], uuid.uuid4(), uuid.uuid4()]
    for person, credits in zip(people, (3, 5, 2, 4), strict=True):
        await sell(client, tenant, person, {"name": f"{credits}-class pack", "credits": credits})
    commands = [reserve(tenant, person) for person in people] + [reserve(tenant, people[1])]  # bob's second
    before = len(await answers(app, org))
    one_by_one = []
    move = LedgerRepository.move

    async def noting_each_move(self, *args, **kwargs):
        one_by_one.append(kwargs.get("booking_id"))
        return await move(self, *args, **kwargs)

    monkeypatch.setattr(LedgerRepository, "move", noting_each_move)
    async with app.state.uow() as uow:
        await saga.reserve_credits([(command, None) for command in commands], uow)
        await uow.commit()
    assert one_by_one == [commands[4].booking_id]  # each client's first together; bob's second after it

    remaining = {uuid.UUID(subject): data["remaining"] for kind, subject, data in (await answers(app, org))[before:]
                 if "reserved" in kind}
    async with app.state.engine.connect() as conn:
        entries = {booking: (who, credits) for booking, who, credits in await conn.execute(
            sa.select(credit_entries.c.booking_id, credit_entries.c.client_id, credit_entries.c.credits)
            .where(credit_entries.c.kind == "reserve", credit_entries.c.organization_id == org))}
    assert remaining == {commands[0].booking_id: 2, commands[1].booking_id: 4, commands[2].booking_id: 1,
                         commands[3].booking_id: 3, commands[4].booking_id: 3}
    assert entries == {c.booking_id: (c.client_id, 1) for c in commands}
    for person, counts in zip(people, ((2, 1), (3, 2), (1, 1), (3, 1)), strict=True):
        totals = (await credits_of(client, tenant, person))["totals"]
        assert (totals["available"], totals["held"]) == counts
    await assert_ledger_consistent(app, org)


async def test_forty_reserves_at_once_take_exactly_five_credits(billing, tenant):
    app, client = billing
    await sell(client, tenant, tenant["alice"], {"name": "5-class pack", "credits": 5})
    commands = [reserve(tenant, tenant["alice"]) for _ in range(40)]
    await asyncio.gather(*(handle(app, reserve_one, c) for c in commands))

    async with app.state.engine.connect() as conn:
        states = await reservation_states(conn, tenant["org"])
        reserves = await conn.scalar(sa.select(sa.func.count()).select_from(credit_entries).where(
            credit_entries.c.kind == "reserve"))
    assert sorted(states.values()).count("reserved") == 5 and len(states) == 40
    assert reserves == 5
    totals = (await credits_of(client, tenant, tenant["alice"]))["totals"]
    assert (totals["available"], totals["held"], totals["granted"]) == (0, 5, 5)
    await assert_ledger_consistent(app, tenant["org"])


async def test_reserves_racing_releases_of_the_same_bookings_never_lose_a_credit(billing, tenant):
    app, client = billing
    await sell(client, tenant, tenant["alice"])
    org, alice = tenant["org"], tenant["alice"]
    work = []
    for _ in range(20):
        command = reserve(tenant, alice)
        release = contracts.ReleaseCredit(organization_id=org, booking_id=command.booking_id, client_id=alice,
                                          reason="saga deadline passed")
        work += [handle(app, reserve_one, command), handle(app, saga.release_credit, release)]
    random.Random(7).shuffle(work)
    await asyncio.gather(*work)

    totals = (await credits_of(client, tenant, alice))["totals"]
    assert (totals["available"], totals["held"]) == (10, 0)
    async with app.state.engine.connect() as conn:
        assert set((await reservation_states(conn, org)).values()) == {"released"}
    await assert_ledger_consistent(app, org)


async def test_the_database_refuses_corrupt_counters_and_rewritten_history(billing, tenant):
    app, client = billing
    await sell(client, tenant, tenant["alice"])
    corruptions = [
        sa.update(credit_lots).values(available=credit_lots.c.available - 1),  # a credit vanishes
        sa.update(credit_lots).values(available=-1, granted=-1),  # below zero, still balanced
        sa.update(credit_entries).values(credits=3),  # history rewritten
        sa.delete(credit_entries),
    ]
    for statement in corruptions:
        with pytest.raises((IntegrityError, DBAPIError)):
            async with app.state.engine.begin() as conn:
                await conn.execute(statement)
    await assert_ledger_consistent(app, tenant["org"])
