"""The monolith a competitor would run: one FastAPI app, one PostgreSQL database, a booking in ONE transaction.

Meant to be fair, not a strawman: the same web stack as the services (FastAPI on
uvicorn with uvloop and httptools, SQLAlchemy async on asyncpg with the services' pool
settings), indexes for every lookup, invariants enforced by the database (a CHECK on
the seat count, a conditional update on the credit lot, a unique index on the active
booking). What it leaves out is what a single database makes unnecessary: the saga,
the outbox, events, token verification against a key (the token's claims are read,
not checked: it is a baseline) and the gateway hop.

`uvicorn --factory bench.baseline.app:create_app` with DATABASE_URL set.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import asyncpg
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from studio_platform.db import make_engine, plain_url
from studio_platform.problems import problem_response
from studio_platform.service import garbage_collector_tuned

SCHEMA = """
CREATE TABLE IF NOT EXISTS classes (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    capacity int NOT NULL CHECK (capacity > 0),
    booked int NOT NULL DEFAULT 0,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    CHECK (booked BETWEEN 0 AND capacity)  -- overbooking is impossible, not just unlikely
);
CREATE TABLE IF NOT EXISTS credit_lots (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    client_id uuid NOT NULL,
    granted int NOT NULL,
    available int NOT NULL CHECK (available >= 0),
    expires_at timestamptz NOT NULL
);
-- The lot a booking takes from: the client's soonest-expiring lot with credit left.
CREATE INDEX IF NOT EXISTS credit_lots_usable ON credit_lots (organization_id, client_id, expires_at)
    WHERE available > 0;
CREATE TABLE IF NOT EXISTS bookings (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    class_id uuid NOT NULL REFERENCES classes,
    client_id uuid NOT NULL,
    lot_id uuid NOT NULL REFERENCES credit_lots,
    status text NOT NULL,
    requested_at timestamptz NOT NULL,
    confirmed_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS bookings_one_active ON bookings (class_id, client_id) WHERE status = 'confirmed';
CREATE INDEX IF NOT EXISTS bookings_client ON bookings (organization_id, client_id);
CREATE TABLE IF NOT EXISTS ledger (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id uuid NOT NULL,
    lot_id uuid NOT NULL REFERENCES credit_lots,
    booking_id uuid REFERENCES bookings,
    kind text NOT NULL,
    credits int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_lot ON ledger (lot_id);
"""

# The class row is locked by this update until commit, so seats are counted one booking at a time;
# once the class is full the WHERE no longer matches and refusals take no lock at all.
TAKE_SEAT = sa.text("""
    UPDATE classes SET booked = booked + 1
    WHERE id = :class_id AND organization_id = :org AND booked < capacity AND starts_at > now()
    RETURNING starts_at, ends_at""")
WHY_NOT = sa.text("SELECT capacity, booked FROM classes WHERE id = :class_id AND organization_id = :org")
TAKE_CREDIT = sa.text("""
    WITH lot AS (
        SELECT id FROM credit_lots
        WHERE organization_id = :org AND client_id = :client AND available > 0 AND expires_at >= :starts_at
        ORDER BY expires_at LIMIT 1 FOR UPDATE)
    UPDATE credit_lots l SET available = l.available - 1 FROM lot WHERE l.id = lot.id
    RETURNING l.id""")
ADD_BOOKING = sa.text("""
    INSERT INTO bookings (id, organization_id, class_id, client_id, lot_id, status, requested_at, confirmed_at)
    VALUES (:id, :org, :class_id, :client, :lot, 'confirmed', :now, :now)
    ON CONFLICT (class_id, client_id) WHERE status = 'confirmed' DO NOTHING
    RETURNING id""")
ADD_ENTRY = sa.text("""
    INSERT INTO ledger (organization_id, lot_id, booking_id, kind, credits)
    VALUES (:org, :lot, :id, 'reserve', 1)""")


class BookingOut(BaseModel):
    """The same shape as the platform's answer, so both serialize the same amount."""

    id: UUID
    reference: str
    class_id: UUID
    class_name: str | None = None
    client_id: UUID
    status: Literal["confirmed"]
    source: Literal["direct"] = "direct"
    reason: str | None = None
    class_starts_at: datetime
    class_ends_at: datetime
    requested_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None = None
    credit: str | None = None
    package_id: UUID | None


class Availability(BaseModel):
    class_id: UUID
    capacity: int
    confirmed: int
    spots_left: int
    is_full: bool


class Refused(Exception):
    """Raised inside the transaction so that leaving it rolls everything back."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        self.response = problem_response(status, code=code, detail=detail)


def caller(authorization: Annotated[str | None, Header()] = None,
           x_client_id: Annotated[str | None, Header()] = None,
           x_organization_id: Annotated[str | None, Header()] = None) -> tuple[UUID, UUID]:
    """(organization, client) from the bearer token's claims, read without checking the signature."""
    try:
        if authorization and authorization.lower().startswith("bearer "):
            payload = authorization[7:].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return UUID(claims["org"]), UUID(claims["sub"])
        return UUID(x_organization_id), UUID(x_client_id)  # type: ignore[arg-type]
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        raise Refused(401, "invalid-token", "Send a bearer token (or X-Organization-Id and X-Client-Id).") from exc


Caller = Annotated[tuple[UUID, UUID], Depends(caller)]


def create_app() -> FastAPI:
    # The services' pool (studio_platform.db.make_engine).
    engine = make_engine(os.environ["DATABASE_URL"])

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with garbage_collector_tuned():  # as the services do
            yield

    app = FastAPI(title="Booking baseline", lifespan=lifespan)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return exc.response

    @app.post("/v1/classes/{class_id}/bookings", status_code=201, response_model=BookingOut)
    async def book(class_id: UUID, who: Caller) -> Any:
        org, client = who
        now = datetime.now(UTC)
        ids = {"class_id": class_id, "org": org, "client": client, "id": uuid4(), "now": now}
        async with engine.begin() as db:  # commits on the way out, rolls back on Refused
            seat = (await db.execute(TAKE_SEAT, ids)).first()
            if seat is None:
                found = (await db.execute(WHY_NOT, ids)).first()
                if found is None:
                    raise Refused(404, "class-not-found", "No such class.")
                if found.booked >= found.capacity:
                    raise Refused(409, "class-full", "This class just filled up; join the waitlist instead.")
                raise Refused(409, "registration-closed", "Registration for this class has closed.")
            lot = (await db.execute(TAKE_CREDIT, {**ids, "starts_at": seat.starts_at})).scalar()
            if lot is None:
                raise Refused(402, "no-credits", "You have no credits left for this class.")
            if (await db.execute(ADD_BOOKING, {**ids, "lot": lot})).scalar() is None:
                raise Refused(409, "already-booked", "You have already booked this class.")
            await db.execute(ADD_ENTRY, {**ids, "lot": lot})
        return BookingOut(id=ids["id"], reference=ids["id"].hex[:8].upper(), class_id=class_id, client_id=client,
                          status="confirmed", class_starts_at=seat.starts_at, class_ends_at=seat.ends_at,
                          requested_at=now, confirmed_at=now, package_id=lot)

    @app.get("/v1/classes/{class_id}/availability", response_model=Availability)
    async def availability(class_id: UUID, who: Caller) -> Any:
        async with engine.connect() as db:
            found = (await db.execute(WHY_NOT, {"class_id": class_id, "org": who[0]})).first()
        if found is None:
            raise Refused(404, "class-not-found", "No such class.")
        return Availability(class_id=class_id, capacity=found.capacity, confirmed=found.booked,
                            spots_left=found.capacity - found.booked, is_full=found.booked >= found.capacity)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        async with engine.connect() as db:
            await db.execute(sa.text("SELECT 1"))
        return {"status": "ok"}

    return app


# --- data and checks, used by the benchmark (not by the app) -----------------------------------------

async def create_schema(database_url: str) -> None:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()


async def load(database_url: str, *, classes: Sequence[tuple[UUID, UUID, int, datetime, datetime]] = (),
               lots: Sequence[tuple[UUID, UUID, UUID, int, datetime]] = ()) -> None:
    """classes: (id, org, capacity, starts, ends); lots: (id, org, client, credits, expires)."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        if classes:
            await conn.copy_records_to_table("classes", records=classes, columns=[
                "id", "organization_id", "capacity", "starts_at", "ends_at"])
        if lots:
            await conn.copy_records_to_table("credit_lots", records=[(*lot, lot[3]) for lot in lots], columns=[
                "id", "organization_id", "client_id", "granted", "expires_at", "available"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def violations(database_url: str) -> list[str]:
    """Seats past capacity or out of step with bookings; credits not where the ledger says."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        found = [f"class {r['id']}: {r['confirmed']} confirmed, {r['booked']} counted, {r['capacity']} seats"
                 for r in await conn.fetch("""
            SELECT c.id, c.capacity, c.booked, count(b.id) AS confirmed
            FROM classes c LEFT JOIN bookings b ON b.class_id = c.id AND b.status = 'confirmed'
            GROUP BY c.id HAVING count(b.id) > c.capacity OR count(b.id) <> c.booked""")]
        found += [f"lot {r['id']}: {r['granted']} granted, {r['available']} left, {r['taken']} in the ledger"
                  for r in await conn.fetch("""
            SELECT l.id, l.granted, l.available, coalesce(sum(e.credits), 0) AS taken
            FROM credit_lots l LEFT JOIN ledger e ON e.lot_id = l.id
            GROUP BY l.id HAVING l.granted - l.available <> coalesce(sum(e.credits), 0)""")]
        return found
    finally:
        await conn.close()
