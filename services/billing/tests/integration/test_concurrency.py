"""Many units of work at once against one client's credits: the database, not Python, keeps them right."""

import asyncio
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from billing.adapters.checks import reservation_states
from billing.adapters.tables import credit_entries, credit_lots
from billing.handlers import saga
from studio_contracts import billing as contracts

from .support import assert_ledger_consistent, credits_of, reserve, sell


async def handle(app, handler, command):
    """As the consumer runs a handler: its own unit of work, committed after."""
    async with app.state.uow() as uow:
        await handler(command, None, uow)
        await uow.commit()


async def test_forty_reserves_at_once_take_exactly_five_credits(billing, tenant):
    app, client = billing
    await sell(client, tenant, tenant["alice"], {"name": "5-class pack", "credits": 5})
    commands = [reserve(tenant, tenant["alice"]) for _ in range(40)]
    await asyncio.gather(*(handle(app, saga.reserve_credit, c) for c in commands))

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
        work += [handle(app, saga.reserve_credit, command), handle(app, saga.release_credit, release)]
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
