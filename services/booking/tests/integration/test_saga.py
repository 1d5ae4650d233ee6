"""Booking's side of the saga against real PostgreSQL and NATS, with billing's answers sent over the bus."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import sqlalchemy as sa

from booking.domain.bookings import Booking
from booking.handlers import saga
from studio_contracts import EventMeta, billing, scheduling
from studio_platform.testing import eventually


def sent(fake, command_type, count=1):
    async def check():
        return len(fake.sent(command_type)) >= count
    return eventually(check)


async def test_a_booking_is_confirmed_when_billing_reserves_a_credit(studio, fake_billing):
    lesson = await studio.add_class(capacity=3)
    client_id, client = studio.client()
    response = await studio.book(lesson["class_id"], client)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed" and response.json()["reference"].startswith("BK-")
    seats = await studio.availability(lesson["class_id"])
    assert (seats["confirmed"], seats["pending"], seats["spots_left"]) == (1, 0, 2)
    [command] = fake_billing.sent(billing.ReserveCredit)
    assert command["client_id"] == str(client_id) and command["class_id"] == str(lesson["class_id"])


async def test_a_batch_of_answers_confirms_the_pending_releases_the_late_and_ignores_repeats(patient):
    studio, fake_billing = patient
    fake_billing.decide = lambda command: None  # the answers come below, as one batch
    lesson = await studio.add_class(capacity=5)
    first, second, late = [(await studio.book(lesson["class_id"], studio.client()[1])).json() for _ in range(3)]
    assert first["status"] == second["status"] == late["status"] == "pending"
    cancelled = await studio.http.post(f"/v1/bookings/{late['id']}/cancel", headers=studio.owner, json={})
    assert cancelled.status_code == 200, cancelled.text

    def answer(booking, package_id):
        event = billing.CreditReserved(organization_id=studio.org, booking_id=booking["id"],
                                       client_id=booking["client_id"], package_id=package_id, package_name="Pack")
        return event, EventMeta(id=uuid.uuid4(), type=event.type, source="/tests", time="2026-11-28T00:00:00Z")

    packages = [uuid.uuid4() for _ in range(3)]
    async with studio.app.state.uow() as uow:
        # `second` answered twice (billing answers every copy of a command), and `late` after its cancellation.
        await saga.on_credits_reserved([answer(first, packages[0]), answer(second, packages[1]),
                                        answer(late, packages[2]), answer(second, packages[1])], uow)
        await uow.commit()

    async def found(booking):
        return (await studio.http.get(f"/v1/bookings/{booking['id']}", headers=studio.owner)).json()

    assert [((b := await found(x))["status"], b["package_id"]) for x in (first, second, late)] == [
        ("confirmed", str(packages[0])), ("confirmed", str(packages[1])), ("cancelled", None)]
    confirmations = [subject for subject, _ in await studio.published("booking.booking.confirmed")]
    assert sorted(confirmations) == sorted([first["id"], second["id"]])  # one each, none for the repeat
    await sent(fake_billing, billing.ReleaseCredit, 2)  # one at the cancellation, one for the credit that came late
    assert [c["booking_id"] for c in fake_billing.sent(billing.ReleaseCredit)] == [late["id"]] * 2


async def test_only_changes_browsing_can_see_are_announced_as_availability(studio, fake_billing):
    lesson = await studio.add_class(capacity=3)
    assert (await studio.book(lesson["class_id"], studio.client()[1])).status_code == 201
    seats = [data for subject, data in await studio.published("booking.class.availability_changed")
             if subject == str(lesson["class_id"])]
    # The seat held at the request; its confirmation leaves spots left and the waitlist as they were.
    assert [(s["spots_left"], s["pending"] + s["confirmed"]) for s in seats] == [(2, 1)]


async def test_a_cancelled_confirmation_is_announced_with_the_seats_split_right(studio, fake_billing):
    lesson = await studio.add_class(capacity=3)
    first, second = studio.client()[1], studio.client()[1]
    booked = (await studio.book(lesson["class_id"], first)).json()
    assert (await studio.book(lesson["class_id"], second)).status_code == 201
    cancelled = await studio.http.post(f"/v1/bookings/{booked['id']}/cancel", headers=first, json={})
    assert cancelled.status_code == 200, cancelled.text
    *_, last = [data for subject, data in await studio.published("booking.class.availability_changed")
                if subject == str(lesson["class_id"])]
    # The cancelled booking no longer counts as confirmed in the statement that frees its seat.
    assert (last["confirmed"], last["pending"], last["spots_left"]) == (1, 0, 2)
    seats = await studio.availability(lesson["class_id"])
    assert (seats["confirmed"], seats["pending"], seats["spots_left"]) == (1, 0, 2)


async def test_a_full_class_is_answered_by_the_studios_own_policy(studio, fake_billing):
    policy = {"late_cancel_policy": "fee", "late_cancel_fee_minor": 500, "currency": "EUR", "waitlist_limit": 0,
              "promotion_cutoff_minutes": 60}
    path = f"/v1/studios/{studio.studio_id}/booking-policy"
    assert (await studio.http.put(path, json=policy, headers=studio.owner)).status_code == 200
    assert (await studio.http.get(path, headers=studio.owner)).json() == policy
    lesson = await studio.add_class(capacity=1)
    assert (await studio.book(lesson["class_id"], studio.client()[1])).status_code == 201
    full = (await studio.book(lesson["class_id"], studio.client()[1])).json()
    assert (full["code"], full["waitlist_open"]) == ("class-full", False)  # this studio keeps no waitlist


async def test_a_refused_credit_frees_the_seat(studio, fake_billing):
    fake_billing.decide = lambda command: "no-credits"
    lesson = await studio.add_class(capacity=1)
    response = await studio.book(lesson["class_id"], studio.client()[1])
    assert response.status_code == 402 and response.json()["code"] == "no-credits"
    assert response.headers["content-type"] == "application/problem+json"
    assert (await studio.availability(lesson["class_id"]))["spots_left"] == 1


async def test_a_silent_billing_fails_the_saga_at_its_deadline(studio, fake_billing):
    fake_billing.decide = lambda command: None
    lesson = await studio.add_class(capacity=1)
    response = await studio.book(lesson["class_id"], studio.client()[1])
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert response.headers["location"] == f"/v1/bookings/{response.json()['id']}"

    async def failed():
        found = await studio.http.get(f"/v1/bookings/{response.json()['id']}", headers=studio.owner)
        return found.json()["status"] == "failed"

    await eventually(failed, timeout=15)
    assert (await studio.availability(lesson["class_id"]))["spots_left"] == 1
    await sent(fake_billing, billing.ReleaseCredit)


async def test_a_deadline_that_cannot_be_applied_holds_back_no_other(studio, fake_billing):
    fake_billing.decide = lambda command: None
    stuck_class, other_class = await studio.add_class(capacity=1), await studio.add_class(capacity=1)

    async def ddl(statement):
        async with studio.app.state.engine.begin() as db:
            await db.execute(sa.text(statement))

    # Freeing a seat of the stuck class fails, as it would with its seat counts out of step.
    await ddl("""CREATE FUNCTION refuse_freeing() RETURNS trigger LANGUAGE plpgsql AS $$
                  BEGIN IF NEW.held < OLD.held THEN RAISE EXCEPTION 'seat counts out of step'; END IF;
                  RETURN NEW; END $$""")
    await ddl(f"""CREATE TRIGGER refuse_freeing BEFORE UPDATE ON class_copies FOR EACH ROW
                  WHEN (OLD.id = '{stuck_class["class_id"]}') EXECUTE FUNCTION refuse_freeing()""")
    stuck = (await studio.book(stuck_class["class_id"], studio.client()[1])).json()
    other = (await studio.book(other_class["class_id"], studio.client()[1])).json()
    assert stuck["status"] == other["status"] == "pending"

    async def status(booking):
        return (await studio.http.get(f"/v1/bookings/{booking['id']}", headers=studio.owner)).json()["status"]

    async def failed(booking):
        return await status(booking) == "failed"

    await eventually(lambda: failed(other), timeout=15)
    assert await status(stuck) == "pending"  # tried on every tick, undone each time
    await ddl("DROP FUNCTION refuse_freeing() CASCADE")
    await eventually(lambda: failed(stuck), timeout=10)


async def test_retries_with_one_key_make_one_booking_and_a_second_key_is_refused(studio, fake_billing):
    lesson = await studio.add_class()
    _, client = studio.client()
    first = await studio.book(lesson["class_id"], client, **{"Idempotency-Key": "tap-1"})
    again = await studio.book(lesson["class_id"], client, **{"Idempotency-Key": "tap-1"})
    assert first.json()["id"] == again.json()["id"]
    other_key = await studio.book(lesson["class_id"], client, **{"Idempotency-Key": "tap-2"})
    assert other_key.status_code == 409 and other_key.json()["code"] == "already-booked"
    assert len(fake_billing.sent(billing.ReserveCredit)) == 1


async def test_a_key_is_one_booking_whenever_its_retries_come(studio, fake_billing):
    lesson, elsewhere = await studio.add_class(), await studio.add_class(starts_in=timedelta(days=3))
    _, client = studio.client()
    # Together: each finds no booking in its first look, and all but one find the first in the seat's statement.
    together = await asyncio.gather(*(studio.book(lesson["class_id"], client, **{"Idempotency-Key": "tap"})
                                      for _ in range(4)))
    assert {r.status_code for r in together} <= {200, 201, 202} and len({r.json()["id"] for r in together}) == 1
    reused = await studio.book(elsewhere["class_id"], client, **{"Idempotency-Key": "tap"})
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency-key-reused"
    cancelled = await studio.http.post(f"/v1/bookings/{together[0].json()['id']}/cancel", headers=client, json={})
    assert cancelled.status_code == 200, cancelled.text
    # A retry after the cancellation is still that booking, not a new one: the key names one attempt.
    again = await studio.book(lesson["class_id"], client, **{"Idempotency-Key": "tap"})
    assert (again.json()["id"], again.json()["status"]) == (together[0].json()["id"], "cancelled")
    assert len(fake_billing.sent(billing.ReserveCredit)) == 1


async def test_a_key_reused_while_its_first_booking_commits_is_found_in_the_seats_statement(studio, fake_billing):
    lesson, elsewhere = await studio.add_class(), await studio.add_class(starts_in=timedelta(days=3), capacity=2)
    client_id, client = studio.client()
    first = (await studio.book(lesson["class_id"], client, **{"Idempotency-Key": "tap"})).json()
    async with studio.app.state.uow() as uow:
        # As a request for another class with the same key does once its first look (before the first booking
        # committed) found nothing: the statement finds the first, rather than failing on the key's unique index.
        cls = await uow.classes.get(studio.org, elsewhere["class_id"])
        retry = Booking.request(of=cls, client_id=client_id, now=datetime.now(UTC), timeout=timedelta(seconds=30),
                                idempotency_key="tap")
        seats, clash = await uow.bookings.add_holding_seat_unless_clash(retry)
    assert seats is None and clash is not None and clash.id == uuid.UUID(first["id"])
    assert (await studio.availability(elsewhere["class_id"]))["spots_left"] == 2  # no seat held


async def test_overlapping_bookings_are_refused(studio, fake_billing):
    first = await studio.add_class(starts_in=timedelta(days=3))
    second = await studio.add_class(starts_in=timedelta(days=3, minutes=30))
    _, client = studio.client()
    assert (await studio.book(first["class_id"], client)).status_code == 201
    clash = await studio.book(second["class_id"], client)
    assert clash.status_code == 409 and clash.json()["code"] == "overlapping-booking"
    again = await studio.book(first["class_id"], client)  # the same class also overlaps itself
    assert again.status_code == 409 and again.json()["code"] == "already-booked"


async def test_a_client_booking_overlapping_classes_at_once_gets_one_of_them(studio, fake_billing):
    lessons = [await studio.add_class(capacity=5, starts_in=timedelta(days=3, minutes=10 * i)) for i in range(6)]
    _, client = studio.client()
    answers = await asyncio.gather(*(studio.book(lesson["class_id"], client, **{"Idempotency-Key": f"k{i}"})
                                     for i, lesson in enumerate(lessons * 4)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 23
    assert {a.json()["code"] for a in answers if a.status_code == 409} <= {"overlapping-booking", "already-booked"}
    spots = [(await studio.availability(lesson["class_id"]))["spots_left"] for lesson in lessons]
    assert sorted(spots) == [4, 5, 5, 5, 5, 5]  # one seat held, in one of the classes (an hour each, all overlapping)


async def test_many_clients_never_overbook(studio, fake_billing):
    lesson = await studio.add_class(capacity=5)
    answers = await asyncio.gather(*(studio.book(lesson["class_id"], studio.client()[1]) for _ in range(30)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 5 and codes.count(409) == 25
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"class-full"}
    seats = await studio.availability(lesson["class_id"])
    assert (seats["confirmed"], seats["spots_left"]) == (5, 0)


async def test_cancelling_refunds_in_time_and_forfeits_late(studio, fake_billing):
    early = await studio.add_class(starts_in=timedelta(days=2))
    late = await studio.add_class(starts_in=timedelta(hours=5))  # already past its 12 h cutoff
    _, client = studio.client()
    booked = [(await studio.book(c["class_id"], client)).json()["id"] for c in (early, late)]
    refunded = await studio.http.post(f"/v1/bookings/{booked[0]}/cancel", headers=client, json={})
    forfeited = await studio.http.post(f"/v1/bookings/{booked[1]}/cancel", headers=client, json={"reason": "ill"})
    assert (refunded.json()["status"], refunded.json()["credit"]) == ("cancelled", "refunded")
    assert (forfeited.json()["status"], forfeited.json()["credit"]) == ("late_cancelled", "forfeited")
    await sent(fake_billing, billing.ConsumeCredit)
    assert [c["booking_id"] for c in fake_billing.sent(billing.RefundCredit)] == [booked[0]]
    stranger = await studio.http.post(f"/v1/bookings/{booked[0]}/cancel", headers=studio.client()[1], json={})
    assert stranger.status_code == 404


async def test_a_freed_seat_goes_to_the_waitlist_skipping_whoever_has_no_credit(studio, fake_billing):
    lesson = await studio.add_class(capacity=1)
    _, holder = studio.client()
    (alice_id, alice), (bob_id, bob), (carol_id, carol) = studio.client(), studio.client(), studio.client()
    booked = await studio.book(lesson["class_id"], holder)
    full = (await studio.book(lesson["class_id"], alice)).json()
    assert (full["code"], full["waitlist_open"], full["waitlisted"]) == ("class-full", True, 0)
    # On a full class, the one who holds the seat is told so, not that it is full.
    assert (await studio.book(lesson["class_id"], holder)).json()["code"] == "already-booked"
    for headers in (alice, bob, carol):
        joined = await studio.http.post(f"/v1/classes/{lesson['class_id']}/waitlist", headers=headers)
        assert joined.status_code == 201
    places = (await studio.http.get("/v1/me/waitlist", headers=carol)).json()
    assert [p["position"] for p in places] == [3]

    fake_billing.decide = lambda c: {alice_id: "no-credits", bob_id: "reserved"}.get(c.client_id, "reserved")
    await studio.http.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=holder, json={})

    async def bob_confirmed():
        roster = (await studio.http.get(f"/v1/classes/{lesson['class_id']}/roster", headers=studio.owner)).json()
        return [(b["client_id"], b["status"]) for b in roster["bookings"]] == [(str(bob_id), "confirmed")] and roster

    roster = await eventually(bob_confirmed, timeout=15)
    # Alice had no credit: skipped, but keeps her place; Carol moves up behind her.
    assert [(p["client_id"], p["position"]) for p in roster["waitlist"]] == [(str(alice_id), 1), (str(carol_id), 2)]
    seats = await studio.availability(lesson["class_id"])
    assert (seats["confirmed"], seats["pending"], seats["waitlisted"]) == (1, 0, 2)


async def test_an_expired_package_ends_a_waitlist_place(studio, fake_billing):
    lesson = await studio.add_class(capacity=1)
    _, holder = studio.client()
    alice_id, alice = studio.client()
    booked = await studio.book(lesson["class_id"], holder)
    await studio.http.post(f"/v1/classes/{lesson['class_id']}/waitlist", headers=alice)
    fake_billing.decide = lambda c: "expired" if c.client_id == alice_id else "reserved"
    await studio.http.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=holder, json={})

    async def seat_back():
        seats = await studio.availability(lesson["class_id"])
        return seats["spots_left"] == 1 and seats["waitlisted"] == 0

    await eventually(seat_back, timeout=15)
    assert (await studio.http.get("/v1/me/waitlist", headers=alice)).json() == []


async def test_two_seats_opening_at_once_promote_one_waiting_client_once(studio, fake_billing):
    lesson = await studio.add_class(capacity=2)
    holders = [studio.client()[1] for _ in range(2)]
    booked = [(await studio.book(lesson["class_id"], h)).json()["id"] for h in holders]
    waiting_id, waiting = studio.client()
    await studio.http.post(f"/v1/classes/{lesson['class_id']}/waitlist", headers=waiting)
    await asyncio.gather(*(studio.http.post(f"/v1/bookings/{b}/cancel", headers=h, json={})
                           for b, h in zip(booked, holders, strict=True)))

    async def settled():
        seats = await studio.availability(lesson["class_id"])
        return seats["pending"] == 0 and seats["confirmed"] == 1 and seats

    seats = await eventually(settled, timeout=15)
    assert seats["spots_left"] == 1 and seats["waitlisted"] == 0
    promoted = [c for c in fake_billing.sent(billing.ReserveCredit) if c["client_id"] == str(waiting_id)]
    assert len(promoted) == 1


async def test_a_cancelled_class_cancels_and_refunds_everyone(studio, fake_billing):
    lesson = await studio.add_class(capacity=2)
    booked = [(await studio.book(lesson["class_id"], studio.client()[1])).json()["id"] for _ in range(2)]
    await studio.apply(scheduling.ClassCancelled(**{**lesson, "version": 2, "status": "cancelled"}))
    for booking_id in booked:
        found = await studio.http.get(f"/v1/bookings/{booking_id}", headers=studio.owner)
        assert (found.json()["status"], found.json()["credit"]) == ("cancelled", "refunded")
    await sent(fake_billing, billing.RefundCredit, count=2)


async def test_suspended_clients_and_closed_registration_are_refused(studio, fake_billing):
    lesson = await studio.add_class()
    client_id, client = studio.client()
    until = (lesson["starts_at"] + timedelta(days=7)).isoformat()
    suspended = await studio.http.put(f"/v1/clients/{client_id}/suspension", headers=studio.owner,
                                      json={"until": until, "reason": "3 no-shows"})
    assert suspended.status_code == 204
    refused = await studio.book(lesson["class_id"], client)
    assert refused.status_code == 403 and refused.json()["code"] == "client-suspended"
    closed = await studio.add_class(registration_closes_at=lesson["starts_at"] - timedelta(days=3))
    assert (await studio.book(closed["class_id"], studio.client()[1])).json()["code"] == "registration-closed"
    assert (await studio.book(uuid.uuid4(), client)).status_code == 404


async def test_a_suspended_client_is_passed_over_but_keeps_their_place(studio, fake_billing):
    lesson = await studio.add_class(capacity=1)
    _, holder = studio.client()
    (sam_id, sam), (bob_id, bob) = studio.client(), studio.client()
    booked = await studio.book(lesson["class_id"], holder)
    for headers in (sam, bob):
        await studio.http.post(f"/v1/classes/{lesson['class_id']}/waitlist", headers=headers)
    until = (lesson["starts_at"] + timedelta(days=1)).isoformat()
    await studio.http.put(f"/v1/clients/{sam_id}/suspension", headers=studio.owner,
                          json={"until": until, "reason": "no-shows"})
    await studio.http.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=holder, json={})

    async def bob_confirmed():
        roster = (await studio.http.get(f"/v1/classes/{lesson['class_id']}/roster", headers=studio.owner)).json()
        return [(b["client_id"], b["status"]) for b in roster["bookings"]] == [(str(bob_id), "confirmed")] and roster

    roster = await eventually(bob_confirmed, timeout=15)
    assert [p["client_id"] for p in roster["waitlist"]] == [str(sam_id)]
    assert not [c for c in fake_billing.sent(billing.ReserveCredit) if c["client_id"] == str(sam_id)]


async def test_a_waitlisted_client_who_books_a_free_seat_leaves_the_line(studio, fake_billing):
    lesson = await studio.add_class(capacity=1)
    _, holder = studio.client()
    alice_id, alice = studio.client()
    booked = await studio.book(lesson["class_id"], holder)
    assert (await studio.http.post(f"/v1/classes/{lesson['class_id']}/waitlist", headers=alice)).status_code == 201
    # Suspended, Alice is passed over when the seat frees, so it stays free; then she books it herself.
    await studio.http.put(f"/v1/clients/{alice_id}/suspension", headers=studio.owner,
                          json={"until": (lesson["starts_at"] + timedelta(days=1)).isoformat(), "reason": "late"})
    await studio.http.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=holder, json={})
    assert (await studio.availability(lesson["class_id"]))["spots_left"] == 1
    await studio.http.delete(f"/v1/clients/{alice_id}/suspension", headers=studio.owner)
    assert (await studio.book(lesson["class_id"], alice)).status_code == 201
    assert (await studio.http.get("/v1/me/waitlist", headers=alice)).json() == []
    seats = await studio.availability(lesson["class_id"])
    assert (seats["confirmed"], seats["waitlisted"]) == (1, 0)


async def test_billing_answers_are_handled_while_requests_hold_every_connection(one_connection):
    studio, fake = one_connection
    lesson = await studio.add_class()
    _, alice = studio.client()
    fake.decide = lambda command: None  # billing thinks it over
    pending = await studio.book(lesson["class_id"], alice)
    assert pending.status_code == 202
    await sent(fake, billing.ReserveCredit)
    command = billing.ReserveCredit.model_validate(fake.sent(billing.ReserveCredit)[0])
    async with studio.app.state.engine.connect() as held:  # the requests' one connection, busy
        await held.execute(sa.text("SELECT 1"))
        await fake.answer(command, "reserved")

        async def confirmed():
            reader = await asyncpg.connect(studio.app.state.settings.database_url)
            try:
                return await reader.fetchval("SELECT status FROM bookings WHERE id = $1",
                                             uuid.UUID(pending.json()["id"])) == "confirmed"
            finally:
                await reader.close()

        await eventually(confirmed, timeout=10)


async def test_booking_attempts_wait_at_the_gate_while_it_is_full(studio, fake_billing):
    lesson = await studio.add_class()
    _, alice = studio.client()
    gate = studio.app.state.booking_gate
    slots = studio.app.state.settings.booking_attempts_at_once
    for _ in range(slots):  # every slot taken, as in a rush
        await gate.acquire()
    attempt = asyncio.create_task(studio.book(lesson["class_id"], alice))
    await asyncio.sleep(0.3)
    assert not attempt.done() and (await studio.availability(lesson["class_id"]))["pending"] == 0
    for _ in range(slots):
        gate.release()
    assert (await attempt).status_code == 201


async def test_booking_served_ahead_of_the_router_answers_as_the_documented_operation(studio, fake_billing,
                                                                                      monkeypatch):
    from prometheus_client import REGISTRY

    from booking import api

    served_directly = []

    async def noting(request):
        served_directly.append(request.url.path)
        return await principal_of(request)

    principal_of = api.principal_of
    monkeypatch.setattr(api, "principal_of", noting)
    lesson = await studio.add_class(capacity=3)
    _, client = studio.client()

    def booked(status):
        return REGISTRY.get_sample_value("http_requests_total", {
            "method": "POST", "route": "/v1/classes/{class_id}/bookings", "status": status}) or 0

    before = booked("201")
    assert (await studio.book(lesson["class_id"], client)).status_code == 201
    assert booked("201") == before + 1  # metrics name it by the documented path

    too_long = await studio.book(lesson["class_id"], client, **{"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 422 and too_long.headers["content-type"] == "application/problem+json"
    assert too_long.json()["invalid_params"][0]["name"] == "idempotency-key"
    unsigned = await studio.http.post(f"/v1/classes/{lesson['class_id']}/bookings")
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "missing-token"
    not_an_id = await studio.book("not-a-uuid", client)  # goes on to FastAPI's operation, which validates
    assert not_an_id.status_code == 422 and not_an_id.json()["invalid_params"][0]["name"] == "class_id"
    unknown = await studio.book(uuid.uuid4(), client)
    assert unknown.status_code == 404 and unknown.json()["type"].startswith("/problems/")
    assert len(served_directly) == 3  # all but the one with a malformed key (refused first) and not-a-uuid
