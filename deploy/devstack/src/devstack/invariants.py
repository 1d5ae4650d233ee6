"""The booking saga's invariants, checked straight from booking's and billing's databases.

Run after any test or benchmark, however it was disturbed: seats never past
capacity, every saga final, every credit where its booking says it is, each
promotion one seat.
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from billing.adapters.checks import credit_invariant_violations
from studio_platform.db import asyncpg_url, plain_url

# Where the credit of a booking must be, by the booking's final state (None: billing holds nothing for it).
_CREDIT_FOR = {
    ("confirmed", None): {"reserved"},
    ("cancelled", "refunded"): {"refunded"},
    ("cancelled", "released"): {"released", "rejected", None},
    ("late_cancelled", "forfeited"): {"consumed"},
    ("late_cancelled", "kept-fee-due"): {"refunded"},
    ("rejected", None): {"rejected", "released"},
    ("failed", None): {"released", "rejected", None},
}


async def pending_sagas(booking_url: str, organization_id: UUID) -> int:
    conn = await asyncpg.connect(plain_url(booking_url))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM bookings WHERE organization_id=$1 AND status='pending'", organization_id)
    finally:
        await conn.close()


async def wait_until_settled(booking_url: str, organization_id: UUID, timeout: float = 60.0) -> float:
    """Seconds until no saga of the organization is pending; raises after `timeout`."""
    started = time.monotonic()
    while (left := await pending_sagas(booking_url, organization_id)) > 0:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{left} bookings still pending after {timeout}s")
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def _booking_violations(conn: asyncpg.Connection, org: UUID) -> list[str]:
    violations = []
    for row in await conn.fetch("""
        SELECT c.id, c.capacity, c.held,
               count(b.*) FILTER (WHERE b.status = 'confirmed') AS really_confirmed,
               count(b.*) FILTER (WHERE b.status IN ('pending', 'confirmed')) AS really_held
        FROM class_copies c LEFT JOIN bookings b ON b.organization_id = c.organization_id AND b.class_id = c.id
        WHERE c.organization_id = $1 GROUP BY c.id""", org):
        if row["really_confirmed"] > row["capacity"]:
            violations.append(f"class {row['id']}: {row['really_confirmed']} confirmed for {row['capacity']} seats")
        if row["held"] != row["really_held"]:
            violations.append(f"class {row['id']}: counts {row['held']} seats held but bookings hold "
                              f"{row['really_held']}")
    for row in await conn.fetch("""
        SELECT w.id, w.status, count(b.*) FILTER (WHERE b.status IN ('confirmed', 'cancelled', 'late_cancelled')
                                                  AND b.confirmed_at IS NOT NULL) AS seats
        FROM waitlist_entries w LEFT JOIN bookings b
             ON b.organization_id = w.organization_id AND b.waitlist_entry_id = w.id
        WHERE w.organization_id = $1 GROUP BY w.id""", org):
        if (row["status"] == "promoted") != (row["seats"] == 1) or row["seats"] > 1:
            violations.append(f"waitlist entry {row['id']} is {row['status']} with {row['seats']} seats filled")
    return violations


async def violations(booking_url: str, billing_url: str, organization_id: UUID) -> list[str]:
    """Every broken invariant of one organization; empty when all hold."""
    booking_db = await asyncpg.connect(plain_url(booking_url))
    billing_db = await asyncpg.connect(plain_url(billing_url))
    engine = create_async_engine(asyncpg_url(billing_url))
    try:
        found = await _booking_violations(booking_db, organization_id)
        bookings = await booking_db.fetch(
            "SELECT id, status, credit_outcome FROM bookings WHERE organization_id=$1", organization_id)
        credits = {r["booking_id"]: r["status"] for r in await billing_db.fetch(
            "SELECT booking_id, status FROM reservations WHERE organization_id=$1", organization_id)}
        for booking in bookings:
            key = (booking["status"], booking["credit_outcome"])
            if key[0] == "pending":
                found.append(f"booking {booking['id']} never reached a final state")
                continue
            credit = credits.pop(booking["id"], None)
            if credit not in _CREDIT_FOR.get(key, set()):
                found.append(f"booking {booking['id']} is {key} but its credit is {credit}")
        found += [f"billing holds a {status} credit for unknown booking {booking_id}"
                  for booking_id, status in credits.items() if status == "reserved"]
        async with engine.connect() as billing:
            found += await credit_invariant_violations(billing, organization_id)
        return found
    finally:
        await booking_db.close()
        await billing_db.close()
        await engine.dispose()
