"""The periodic tick: credits expire and weekly allowances are granted, with the clock moved, not waited for."""

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from billing.adapters.tables import credit_lots
from billing.handlers import saga
from billing.handlers.tick import run_tick
from studio_contracts import SYSTEM_ORGANIZATION
from studio_contracts import billing as contracts
from studio_platform.testing import eventually

from .support import KICKSTARTER, assert_ledger_consistent, credits_of, reserve, sell

WEEK = timedelta(days=7)


async def tick(app, now, *, lead=WEEK, batch=500):
    async with app.state.uow() as uow:
        await run_tick(contracts.BillingTick(organization_id=SYSTEM_ORGANIZATION), None, uow, allowance_lead=lead,
                       now=now, batch=batch)
        await uow.commit()


async def test_unused_credits_expire_and_held_ones_wait_for_their_class(billing, tenant, bus):
    app, client = billing
    package = await sell(client, tenant, tenant["alice"])
    booked = reserve(tenant, tenant["alice"])
    async with app.state.uow() as uow:
        await saga.reserve_credits([(booked, None)], uow)
        await uow.commit()

    after_expiry = datetime.fromisoformat(package["expires_at"]) + timedelta(minutes=1)
    await tick(app, after_expiry)
    await tick(app, after_expiry)  # a second tick finds nothing left to do
    expired = await bus.first("billing.credit.expired.v1", package_id=package["id"])
    assert expired["credits"] == 9

    balance = await credits_of(client, tenant, tenant["alice"])
    [pack] = balance["packages"]
    assert (pack["status"], pack["available"], pack["held"], pack["expired"]) == ("expired", 0, 1, 9)
    # The class was before the expiry: its credit is still spent as booked.
    async with app.state.uow() as uow:
        await saga.consume_credit(contracts.ConsumeCredit(organization_id=tenant["org"], booking_id=booked.booking_id,
                                                          client_id=tenant["alice"], reason="attended"), None, uow)
        await uow.commit()
    assert (await credits_of(client, tenant, tenant["alice"]))["totals"]["spent"] == 1
    await assert_ledger_consistent(app, tenant["org"])


async def test_membership_weeks_are_granted_ahead_and_expire_at_their_end(billing, tenant):
    app, client = billing
    start = datetime.now(UTC).replace(microsecond=0)
    package = await sell(client, tenant, tenant["alice"], KICKSTARTER, starts_at=start)
    assert (await credits_of(client, tenant, tenant["alice"]))["totals"]["available"] == 5

    await tick(app, start + timedelta(hours=1))
    await tick(app, start + timedelta(hours=1))
    [week] = (await credits_of(client, tenant, tenant["alice"]))["packages"]
    assert (week["granted"], week["available"], week["upcoming"]) == (10, 10, 5)

    # Next week's allowance pays for next week's class, and this week's stays for this week.
    next_week_class = reserve(tenant, tenant["alice"], starts_at=start + WEEK + timedelta(days=1))
    async with app.state.uow() as uow:
        await saga.reserve_credits([(next_week_class, None)], uow)
        await uow.commit()

    await tick(app, start + WEEK + timedelta(hours=1))  # week 1 ends unused; week 3 is granted
    [week] = (await credits_of(client, tenant, tenant["alice"]))["packages"]
    assert (week["granted"], week["expired"], week["held"], week["available"]) == (15, 5, 1, 9)
    async with app.state.engine.connect() as conn:
        starts = (await conn.execute(sa.select(credit_lots.c.valid_from).where(
            credit_lots.c.package_id == uuid.UUID(package["id"])).order_by(credit_lots.c.valid_from))).scalars()
        assert [s - start for s in starts] == [timedelta(0), WEEK, 2 * WEEK]

    await tick(app, start + timedelta(days=43))  # the membership is over
    [week] = (await credits_of(client, tenant, tenant["alice"]))["packages"]
    assert week["status"] == "expired" and week["available"] == 0
    assert week["granted"] == week["available"] + week["held"] + week["spent"] + week["expired"]
    await assert_ledger_consistent(app, tenant["org"])


async def test_with_rollover_unused_weeks_carry_over(billing, tenant):
    app, client = billing
    start = datetime.now(UTC).replace(microsecond=0)
    await sell(client, tenant, tenant["alice"], {**KICKSTARTER, "name": "Kickstarter rolling", "weekly_rollover": True},
               starts_at=start)
    for day in (1, 8, 15):
        await tick(app, start + timedelta(days=day), lead=timedelta(0))
    [membership] = (await credits_of(client, tenant, tenant["alice"]))["packages"]
    assert (membership["granted"], membership["available"], membership["expired"]) == (15, 15, 0)


async def test_a_big_backlog_drains_in_bounded_batches(billing, tenant):
    app, client = billing
    start = datetime.now(UTC).replace(microsecond=0)
    for _ in range(3):
        await sell(client, tenant, uuid.uuid4(), starts_at=start - timedelta(days=89))
    await tick(app, start + timedelta(days=2), batch=2)
    async with app.state.engine.connect() as conn:
        left = await conn.scalar(sa.select(sa.func.count()).select_from(credit_lots).where(credit_lots.c.available > 0))
    assert left == 1
    await tick(app, start + timedelta(days=2), batch=2)
    async with app.state.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(credit_lots).where(
            credit_lots.c.available > 0)) == 0


async def test_the_repeating_schedule_fires_the_tick_off_the_bus(service_app, tenant):
    from billing.app import create_app
    from billing.config import BillingSettings

    from .conftest import MIGRATIONS

    async with service_app(create_app, BillingSettings, MIGRATIONS, tick_every="@every 1s") as (_, client):
        # A pack that ends in two seconds: only a real tick can expire it.
        await sell(client, tenant, tenant["alice"], starts_at=datetime.now(UTC) - timedelta(days=90, seconds=-2))

        async def expired():
            totals = (await credits_of(client, tenant, tenant["alice"]))["totals"]
            assert totals["expired"] == 10, totals
            return True

        assert await eventually(expired, timeout=20, interval=0.5)
