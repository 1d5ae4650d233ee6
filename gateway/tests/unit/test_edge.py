"""The edge's pure parts: which service a path goes to, and the merged API document."""

import asyncio

import pytest

from gateway.edge.openapi import merge
from gateway.edge.ratelimit import RateLimits
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
    async def scenario():
        limits = RateLimits(auth="2/minute", default="100/minute")
        await limits.check(caller="addr:1", sensitive=True)
        await limits.check(caller="addr:1", sensitive=True)
        await limits.check(caller="addr:2", sensitive=True)
        await limits.check(caller="addr:1", sensitive=False)
        with pytest.raises(RateLimited) as refused:
            await limits.check(caller="addr:1", sensitive=True)
        assert 1 <= refused.value.extensions["retry_after"] <= 60

    asyncio.run(scenario())
