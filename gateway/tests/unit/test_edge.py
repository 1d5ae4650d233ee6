"""The edge's pure parts: which service a path goes to, and the merged API document."""


import pytest

from gateway.edge.openapi import merge
from gateway.edge.ratelimit import RateLimits, SlidingWindow, category
from gateway.edge.routes import RouteTable
from studio_platform.errors import RateLimited


def document(*paths, schemas=None):
    return {"paths": {p: {"get": {"operationId": p}} for p in paths}, "components": {"schemas": schemas or {}}}


def test_the_most_specific_template_wins():
    table = RouteTable()
    table.learn("scheduling", document("/v1/classes", "/v1/classes/{class_id}"))
    table.learn("booking", document("/v1/classes/{class_id}/availability", "/v1/bookings/{booking_id}"))
    assert table.match("/v1/classes").service == "scheduling"
    assert table.match("/v1/classes/abc").service == "scheduling"
    assert table.match("/v1/classes/abc/availability").service == "booking"
    assert table.match("/v1/classes/abc/other") is None
    assert table.match("/v1/classes/a/b/availability") is None
    assert table.services == {"scheduling", "booking"}


def test_routes_as_specific_as_each_other_go_to_the_first_learnt_and_relearning_replaces_a_services_routes():
    table = RouteTable()
    assert table.match("/v1/classes") is None  # nothing learnt yet
    table.learn("booking", document("/v1/things/{thing_id}", "/v1/bookings/{booking_id}"))
    table.learn("billing", document("/v1/things/{other_id}", "/v1/things/{other_id}/credits"))
    assert table.match("/v1/things/abc").service == "booking"
    assert table.match("/v1/things/abc/credits").service == "billing"
    table.learn("booking", document("/v1/bookings/{booking_id}"))  # a refresh: booking no longer has things
    assert table.match("/v1/things/abc").service == "billing"
    assert table.match("/v1/bookings/abc").path == "/v1/bookings/{booking_id}"


def test_merge_keeps_every_operation_and_renames_clashing_schemas():
    own = document("/v1/auth/login", schemas={"Tokens": {"type": "object"}})
    booking = document("/v1/classes/{class_id}/availability",
                       schemas={"Availability": {"type": "string", "title": "B"}})
    scheduling = document("/v1/classes", schemas={"Availability": {"type": "object", "title": "S"}})
    scheduling["paths"]["/v1/classes"]["get"]["responses"] = {
        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Availability"}}}}}
    scheduling["paths"]["/healthz"] = {"get": {}}  # not part of the public API
    merged = merge(own, {"scheduling": scheduling, "booking": booking})
    assert set(merged["paths"]) == {"/v1/auth/login", "/v1/classes", "/v1/classes/{class_id}/availability"}
    # Services merge in name order; a later one's clashing schema takes its service's name as prefix.
    schemas = merged["components"]["schemas"]
    assert schemas["Availability"]["title"] == "B" and schemas["SchedulingAvailability"]["title"] == "S"
    ref = merged["paths"]["/v1/classes"]["get"]["responses"]["200"]
    assert ref["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/SchedulingAvailability"


def test_rate_limits_count_per_caller_and_say_when_to_retry():
    limits = RateLimits(auth="2/minute", default="100/minute", booking="1/minute")
    limits.check(caller="addr:1", category="auth", now=60.0)
    limits.check(caller="addr:1", category="auth", now=61.0)
    limits.check(caller="addr:2", category="auth", now=61.0)
    limits.check(caller="addr:1", category="api", now=61.0)
    limits.check(caller="user:1", category="booking", now=61.0)
    with pytest.raises(RateLimited):
        limits.check(caller="user:1", category="booking", now=62.0)
    with pytest.raises(RateLimited) as refused:
        limits.check(caller="addr:1", category="auth", now=62.0)
    assert refused.value.extensions["retry_after"] == 58  # this window alone is full


def test_the_window_slides_last_minutes_hits_out_as_time_passes():
    window = SlidingWindow(limit=10, seconds=60)
    assert all(window.hit("a", 60.0 + i) is None for i in range(10))  # ten in the first minute
    # A quarter into the next minute, three quarters of those ten still count: 7.5 + 2 > 10 - 1.
    assert window.hit("a", 135.0) is None and window.hit("a", 135.0) is None
    # Refused until 0.7 of last minute's count is left: three seconds on.
    assert window.hit("a", 135.0) == pytest.approx(3.0)
    assert window.hit("a", 137.9) is not None
    assert window.hit("a", 138.01) is None  # after waiting as told, it passes
    assert window.hit("b", 135.0) is None  # someone else is not held up


def test_callers_gone_quiet_are_forgotten():
    window = SlidingWindow(limit=5, seconds=60)
    window.hit("a", 0.0)
    window.hit("b", 130.0)  # two windows on: a is swept out
    assert set(window._counts) == {"b"}


def test_what_counts_as_a_booking_attempt():
    assert category("POST", "/v1/classes/abc/bookings") == "booking"
    assert category("GET", "/v1/classes/abc/bookings") == "api"
    assert category("POST", "/v1/auth/login") == "auth"
    assert category("POST", "/v1/bookings/abc/cancel") == "api"


def test_who_sees_which_live_update():
    import uuid

    from gateway.edge.live import LiveEvent, parse, visible_to
    from studio_platform.auth import Principal

    org, studio, other_studio = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    client, instructor = uuid.uuid4(), uuid.uuid4()

    def person(user_id, role, studios=()):
        return Principal(user_id=user_id, organization_id=org, roles=frozenset({role}), studio_ids=frozenset(studios))

    booking = LiveEvent("booking", "booking.booking.confirmed.v1", org,
                        {"client_id": str(client), "instructor_id": str(instructor), "studio_id": str(studio)})
    seats = LiveEvent("availability", "booking.class.availability_changed.v1", org, {"studio_id": str(studio)})
    assert visible_to(person(client, "client"), booking)
    assert not visible_to(person(uuid.uuid4(), "client"), booking)
    assert visible_to(person(instructor, "instructor"), booking)
    assert not visible_to(person(uuid.uuid4(), "instructor"), booking)
    assert visible_to(person(uuid.uuid4(), "manager", [studio]), booking)
    assert not visible_to(person(uuid.uuid4(), "manager", [other_studio]), booking)
    assert visible_to(person(uuid.uuid4(), "owner"), booking)
    assert visible_to(person(uuid.uuid4(), "client"), seats)
    stranger = Principal(user_id=client, organization_id=uuid.uuid4(), roles=frozenset({"owner"}),
                         studio_ids=frozenset())
    assert not visible_to(stranger, seats) and not visible_to(stranger, booking)
    parsed = parse("booking.class.availability_changed", {"ce-type": "t.v1", "ce-organizationid": str(org)}, b"{}")
    assert parsed.kind == "availability"
    assert parse("booking.booking.confirmed", {}, b"{}") is None
