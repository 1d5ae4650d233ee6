"""The booking saga end to end: booking and billing as processes, through the gateway, real NATS and PostgreSQL.

Every test ends by checking the saga's invariants straight from both databases.
"""

import asyncio
import json
from datetime import timedelta

import httpx
import pytest

from studio_platform.testing import eventually

pytestmark = pytest.mark.e2e


async def final_status(studio, who, response) -> str:
    """A 202 answer settles later: follow it to its end."""
    if response.status_code != 202:
        return {201: "confirmed", 402: "rejected", 409: response.json().get("code")}.get(response.status_code,
                                                                                          str(response.status_code))

    async def settled():
        found = await studio.http.get(f"/v1/bookings/{response.json()['id']}", headers=who.headers)
        return found.json()["status"] if found.json()["status"] != "pending" else None

    return await eventually(settled, timeout=60, interval=0.2)


async def credits(studio, who) -> dict:
    return (await studio.ok("GET", "/v1/me/credits", who))["totals"]


async def test_many_clients_on_one_class_never_overbook(studio, stack):
    lesson = await studio.schedule(capacity=10)
    people = await studio.clients(40)
    answers = await asyncio.gather(*(studio.book(lesson, p) for p in people))
    outcomes = [await final_status(studio, p, a) for p, a in zip(people, answers, strict=True)]
    assert outcomes.count("confirmed") == 10
    assert outcomes.count("class-full") == 30
    assert await studio.settled(stack) == []
    seats = await studio.ok("GET", f"/v1/classes/{lesson['id']}/availability", studio.owner)
    assert (seats["confirmed"], seats["spots_left"]) == (10, 0)
    booked = [p for p, outcome in zip(people, outcomes, strict=True) if outcome == "confirmed"]
    balance = await credits(studio, booked[0])
    assert (balance["available"], balance["held"]) == (9, 1)


async def test_a_double_click_books_once(studio, stack):
    lesson = await studio.schedule()
    person = await studio.client()
    same_key = await asyncio.gather(*(studio.book(lesson, person, **{"Idempotency-Key": "click"}) for _ in range(5)))
    assert len({a.json()["id"] for a in same_key}) == 1
    other = await studio.schedule(starts_in=timedelta(days=3))
    new_keys = await asyncio.gather(*(studio.book(other, person, **{"Idempotency-Key": f"k{i}"}) for i in range(5)))
    codes = sorted(a.status_code for a in new_keys)
    assert codes.count(409) == 4 and {a.json()["code"] for a in new_keys if a.status_code == 409} == {"already-booked"}
    assert await studio.settled(stack) == []
    assert (await credits(studio, person))["held"] == 2


async def test_no_credit_is_refused_and_skipped_on_the_waitlist(studio, stack):
    lesson = await studio.schedule(capacity=1)
    holder = await studio.client("Holder")
    alice = await studio.client("Alice", credits=False)
    bob = await studio.client("Bob")
    refused = await studio.book(await studio.schedule(starts_in=timedelta(days=4)), alice)
    assert refused.status_code == 402 and refused.json()["code"] == "no-credits"
    booked = await studio.book(lesson, holder)
    assert await final_status(studio, holder, booked) == "confirmed"
    for person in (alice, bob):
        await studio.ok("POST", f"/v1/classes/{lesson['id']}/waitlist", person)
    await studio.ok("POST", f"/v1/bookings/{booked.json()['id']}/cancel", holder, json={})

    async def bob_booked():
        mine = await studio.ok("GET", "/v1/me/bookings", bob)
        return [b["status"] for b in mine["items"]] == ["confirmed"]

    await eventually(bob_booked, timeout=30)
    assert [p["position"] for p in await studio.ok("GET", "/v1/me/waitlist", alice)] == [1]
    assert await studio.settled(stack) == []
    assert (await credits(studio, holder))["available"] == 10  # refunded: cancelled in time


async def test_cancellations_racing_promotions_and_new_bookings(studio, stack):
    lesson = await studio.schedule(capacity=5)
    holders = await studio.clients(5)
    booked = await asyncio.gather(*(studio.book(lesson, p) for p in holders))
    assert [await final_status(studio, p, a) for p, a in zip(holders, booked, strict=True)] == ["confirmed"] * 5
    waiting = await studio.clients(8)
    for person in waiting:
        await studio.ok("POST", f"/v1/classes/{lesson['id']}/waitlist", person)
    newcomers = await studio.clients(5)
    await asyncio.gather(
        *(studio.http.post(f"/v1/bookings/{a.json()['id']}/cancel", headers=p.headers, json={})
          for p, a in zip(holders, booked, strict=True)),
        *(studio.book(lesson, p) for p in newcomers))
    assert await studio.settled(stack) == []
    seats = await studio.ok("GET", f"/v1/classes/{lesson['id']}/availability", studio.owner)
    assert seats["confirmed"] <= 5 and seats["pending"] == 0


async def test_two_seats_opening_at_once_with_one_eligible_client(studio, stack):
    lesson = await studio.schedule(capacity=2)
    holders = await studio.clients(2)
    booked = [await studio.book(lesson, p) for p in holders]
    eligible = await studio.client("Eligible")
    broke = await studio.client("Broke", credits=False)
    for person in (broke, eligible):
        await studio.ok("POST", f"/v1/classes/{lesson['id']}/waitlist", person)
    await asyncio.gather(*(studio.http.post(f"/v1/bookings/{a.json()['id']}/cancel", headers=p.headers, json={})
                           for p, a in zip(holders, booked, strict=True)))
    assert await studio.settled(stack) == []
    seats = await studio.ok("GET", f"/v1/classes/{lesson['id']}/availability", studio.owner)
    assert (seats["confirmed"], seats["spots_left"]) == (1, 1)
    assert [b["status"] for b in (await studio.ok("GET", "/v1/me/bookings", eligible))["items"]] == ["confirmed"]


async def test_a_late_cancellation_forfeits_the_credit(studio, stack):
    soon = await studio.schedule(starts_in=timedelta(hours=5))  # inside the 12 h cutoff already
    person = await studio.client()
    booked = await studio.book(soon, person)
    assert await final_status(studio, person, booked) == "confirmed"
    cancelled = await studio.ok("POST", f"/v1/bookings/{booked.json()['id']}/cancel", person, json={})
    assert (cancelled["status"], cancelled["credit"]) == ("late_cancelled", "forfeited")
    assert await studio.settled(stack) == []
    balance = await credits(studio, person)
    assert (balance["available"], balance["held"], balance["spent"]) == (9, 0, 1)


async def test_live_updates_reach_the_client_and_only_them(studio, gateway, stack):
    lesson = await studio.schedule(capacity=3)
    person, other = await studio.client("Live"), await studio.client("Other")
    seen: list[tuple[str, dict]] = []

    async def listen(who, into):
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=None) as http, http.stream(
                "GET", "/v1/live", params={"access_token": who.token}) as stream:
            event = None
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    into.append((event, json.loads(line.split(":", 1)[1])))

    theirs: list[tuple[str, dict]] = []
    listeners = [asyncio.create_task(listen(person, seen)), asyncio.create_task(listen(other, theirs))]
    try:
        await eventually(lambda: asyncio.sleep(0, result=seen and theirs), timeout=10)  # both "ready"
        booked = await studio.book(lesson, person)

        async def confirmed_live():
            return any(kind == "booking" and data["type"] == "booking.booking.confirmed.v1"
                       and data["booking_id"] == booked.json()["id"] for kind, data in seen)

        await eventually(confirmed_live, timeout=15)
        assert any(kind == "availability" and data["class_id"] == lesson["id"] for kind, data in seen)
        await asyncio.sleep(0.3)
        assert not [data for kind, data in theirs if kind == "booking"]  # someone else's booking
        assert any(kind == "availability" for kind, _ in theirs)  # but the seats are everyone's
    finally:
        for task in listeners:
            task.cancel()


async def _attempts_booking_answered(stack) -> float:
    """Booking attempts booking itself answered, from its metrics."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{stack.url('booking')}/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("http_requests_total{") and 'route="/v1/classes/{class_id}/bookings"' in line
               and 'method="POST"' in line)


async def test_a_full_class_is_refused_at_the_edge_until_a_seat_frees(studio, stack):
    lesson = await studio.schedule(capacity=1)
    holder, alice, bob = await studio.clients(3)
    booked = await studio.book(lesson, holder)
    assert await final_status(studio, holder, booked) == "confirmed"
    first = await studio.book(lesson, alice)  # booking's own answer, which the gateway keeps
    assert first.status_code == 409 and first.json()["code"] == "class-full"

    async def answered_at_the_edge():
        before = await _attempts_booking_answered(stack)
        again = await studio.book(lesson, bob)
        return again if await _attempts_booking_answered(stack) == before else None

    # The holder's seat may be announced a moment after booking answered Alice; from then on, the edge answers.
    again = await eventually(answered_at_the_edge, timeout=15, interval=0.2)
    assert again.status_code == 409 and again.json() == first.json()
    assert again.headers["content-type"] == "application/problem+json"

    # Booking still answers what the edge cannot know: the holder hears they are booked, a retry with a key
    # reaches its booking, another organization's client learns nothing of the class.
    mine = await studio.book(lesson, holder)
    assert mine.status_code == 409 and mine.json()["code"] == "already-booked"
    with_key = await studio.book(lesson, bob, **{"Idempotency-Key": "retry-1"})
    assert with_key.status_code == 409 and with_key.json()["code"] == "class-full"
    stranger = await (await type(studio)(studio.http).open()).client()
    assert (await studio.book(lesson, stranger)).status_code == 404

    # A freed seat ends the edge's answer at once (the e2e stack keeps it for ten minutes otherwise).
    await studio.ok("POST", f"/v1/bookings/{booked.json()['id']}/cancel", holder, json={})

    async def bob_books():
        answer = await studio.book(lesson, bob)
        return answer if answer.status_code in (201, 202) else None

    assert await final_status(studio, bob, await eventually(bob_books, timeout=15, interval=0.2)) == "confirmed"
    assert await studio.settled(stack) == []
