"""End to end through the gateway, every service running against real NATS and PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from studio_platform.testing import eventually

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(gateway, name: str) -> tuple[str, str]:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@example.com"
    response = await gateway.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
    assert response.status_code == 201, response.text
    return email, response.json()["access_token"]


async def new_organization(gateway, owner_name: str, org_name: str) -> dict:
    email, token = await sign_up(gateway, owner_name)
    created = await gateway.post("/v1/organizations", json={"name": org_name}, headers=bearer(token))
    assert created.status_code == 201, created.text
    owner = bearer(created.json()["tokens"]["access_token"])
    me = (await gateway.get("/v1/me", headers=owner)).json()
    studio = await gateway.post("/v1/studios", json={"name": "Camden", "time_zone": "Europe/London"}, headers=owner)
    assert studio.status_code == 201, studio.text
    return {"owner": owner, "owner_id": me["user"]["id"], "studio": studio.json(), "email": email}


async def schedule_class(gateway, org) -> dict:
    class_type = await gateway.post("/v1/class-types", headers=org["owner"], json={
        "name": "Reformer", "colour": "#ff6b35", "default_capacity": 12, "default_duration_minutes": 50})
    assert class_type.status_code == 201, class_type.text
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    body = {"class_type_id": class_type.json()["id"], "studio_id": org["studio"]["id"],
            "instructor_id": org["owner_id"], "starts_at": starts.isoformat(), "room": "Studio 1"}

    async def scheduled():
        # The new studio and its owner reach scheduling as events: eventually it accepts the class.
        response = await gateway.post("/v1/classes", headers=org["owner"], json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return await eventually(scheduled, timeout=15, interval=0.25)


async def test_owner_plans_a_class_and_an_invited_client_browses_it(gateway):
    org = await new_organization(gateway, "Olivia Owner", "Harbour Pilates")
    lesson = await schedule_class(gateway, org)

    client_email, client_token = await sign_up(gateway, "Alice Client")
    invited = await gateway.post("/v1/invitations", headers=org["owner"], json={"email": client_email,
                                                                                "role": "client"})
    assert invited.status_code == 201, invited.text
    accepted = await gateway.post("/v1/invitations/accept", headers=bearer(client_token),
                                  json={"token": invited.json()["accept_token"]})
    assert accepted.status_code == 200, accepted.text
    client = bearer(accepted.json()["tokens"]["access_token"])

    browse = await gateway.get("/v1/classes", headers=client)
    assert browse.status_code == 200
    [seen] = [c for c in browse.json()["items"] if c["id"] == lesson["id"]]
    assert seen["availability"] == {"capacity": 12, "booked": 0, "spots_left": 12, "is_full": False,
                                    "waitlisted": 0}
    assert seen["studio"]["time_zone"] == "Europe/London" and seen["instructor"]["name"] == "Olivia Owner"
    assert seen["instructor_notes"] is None  # staff-only

    async def booking_has_its_copy():
        response = await gateway.get(f"/v1/classes/{lesson['id']}/availability", headers=client)
        assert response.status_code == 200, response.text
        return response.json()

    copy = await eventually(booking_has_its_copy, timeout=15)
    assert copy["version"] == 1 and copy["capacity"] == 12 and copy["registration_open"] is True

    # A change travels the same way.
    changed = await gateway.patch(f"/v1/classes/{lesson['id']}", headers=org["owner"], json={"capacity": 8})
    assert changed.status_code == 200

    async def copy_updated():
        response = await gateway.get(f"/v1/classes/{lesson['id']}/availability", headers=client)
        return response.json()["version"] == 2 and response.json()["capacity"] == 8

    await eventually(copy_updated, timeout=15)


async def test_one_organization_never_sees_another(gateway, stack):
    first = await new_organization(gateway, "First Owner", "First Studio Co")
    lesson = await schedule_class(gateway, first)
    second = await new_organization(gateway, "Second Owner", "Second Studio Co")

    listed = await gateway.get("/v1/classes", headers=second["owner"])
    assert lesson["id"] not in [c["id"] for c in listed.json()["items"]]
    for path in (f"/v1/classes/{lesson['id']}", f"/v1/classes/{lesson['id']}/availability",
                 f"/v1/studios/{first['studio']['id']}"):
        response = await gateway.get(path, headers=second["owner"])
        assert response.status_code == 404, (path, response.text)
    hijack = await gateway.post(f"/v1/classes/{lesson['id']}/cancel", headers=second["owner"], json={})
    assert hijack.status_code == 404
    in_their_studio = await gateway.post("/v1/classes", headers=second["owner"], json={
        "class_type_id": lesson["class_type_id"], "studio_id": first["studio"]["id"],
        "instructor_id": second["owner_id"], "starts_at": lesson["starts_at"]})
    assert in_their_studio.status_code in (403, 422)

    # Straight to the services, past the gateway, with the other tenant's token: still nothing.
    async with httpx.AsyncClient(timeout=10) as direct:
        for service, path in (("scheduling", f"/v1/classes/{lesson['id']}"),
                              ("booking", f"/v1/classes/{lesson['id']}/availability")):
            response = await direct.get(stack.url(service) + path, headers=second["owner"])
            assert response.status_code == 404, (service, response.text)
        unsigned = await direct.get(stack.url("scheduling") + "/v1/classes",
                                    headers={"Authorization": "Bearer not-a-token"})
        assert unsigned.status_code == 401


async def test_bad_input_gets_problem_responses(gateway):
    org = await new_organization(gateway, "Pat Owner", "Problem Studio")

    def is_problem(response, status, code=None):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == status
        if code:
            assert response.json()["code"] == code

    is_problem(await gateway.post("/v1/class-types", headers={**org["owner"], "content-type": "application/json"},
                                  content=b'{"name": "HIIT",'), 400, "malformed-json")
    is_problem(await gateway.post("/v1/studios", headers={**org["owner"], "content-type": "application/json"},
                                  content=b"[1,"), 400, "malformed-json")
    is_problem(await gateway.post("/v1/class-types", headers=org["owner"], json={
        "name": "HIIT", "colour": "#000000", "default_capacity": "lots", "default_duration_minutes": 45}), 422)
    is_problem(await gateway.post("/v1/studios", headers=org["owner"], json={"name": "X", "time_zone": "Mars/Base"}),
               422)
    is_problem(await gateway.get(f"/v1/classes/{uuid.uuid4()}", headers=org["owner"]), 404)
    is_problem(await gateway.get("/v1/classes/not-a-uuid", headers=org["owner"]), 422)
    is_problem(await gateway.get("/v1/classes"), 401, "missing-token")
    token = org["owner"]["Authorization"]
    is_problem(await gateway.get("/v1/classes", headers={"Authorization": token[:-3] + "abc"}), 401)
    is_problem(await gateway.get("/v1/studios", headers={"Authorization": token[:-3] + "abc"}), 401)
    is_problem(await gateway.get("/v1/no-such-thing", headers=org["owner"]), 404)
    is_problem(await gateway.post("/v1/auth/login", json={"email": org["email"], "password": "wrong password"}),
               401, "invalid-credentials")


async def test_one_api_document_describes_every_operation(gateway):
    document = (await gateway.get("/openapi.json")).json()
    paths = document["paths"]
    for expected in ("/v1/auth/signup", "/v1/studios", "/v1/classes", "/v1/class-types",
                     "/v1/classes/{class_id}/availability"):
        assert expected in paths
    operation_ids = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            operation_ids.append(operation.get("operationId"))
            assert operation.get("operationId"), where
            assert any(code.startswith(("2", "3")) for code in operation["responses"]), where
            if path.startswith("/v1/"):  # the public key set has nothing to refuse
                assert any(code.startswith("4") for code in operation["responses"]), where
            if method in ("post", "put", "patch") and path not in ("/v1/auth/logout",):
                assert "requestBody" in operation or operation.get("parameters"), where
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    assert (await gateway.get("/docs")).status_code == 200


async def test_health_and_request_ids(gateway):
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    echoed = await gateway.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    metrics = await gateway.get("/metrics")
    assert "http_requests_total" in metrics.text


async def test_one_trace_runs_from_the_gateway_onto_the_bus(gateway, nats_url):
    import nats

    org = await new_organization(gateway, "Tracy Owner", "Traced Studio")
    nc = await nats.connect(nats_url)
    sub = await nc.jetstream().subscribe("scheduling.class_type.created", ordered_consumer=True,
                                         deliver_policy=nats.js.api.DeliverPolicy.NEW)
    trace_id = uuid.uuid4().hex
    traced = {**org["owner"], "traceparent": f"00-{trace_id}-{'1' * 16}-01"}
    created = await gateway.post("/v1/class-types", headers=traced,
                                 json={"name": "Traced", "colour": "#123456", "default_capacity": 5,
                                       "default_duration_minutes": 30})
    assert created.status_code == 201
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            if msg.headers.get("ce-subject") == created.json()["id"]:
                break
    finally:
        await nc.close()
    assert msg.headers["traceparent"].split("-")[1] == trace_id


async def test_callers_are_rate_limited(gateway):
    _, token = await sign_up(gateway, "Hasty Harry")
    statuses = [(await gateway.get("/v1/me", headers=bearer(token))).status_code for _ in range(125)]
    # A sliding window weighs the last minute's count down as time passes: across a minute's boundary
    # a request or two more may pass than the limit.
    assert 120 <= statuses.count(200) <= 122 and statuses[-1] == 429
    refused = await gateway.get("/v1/me", headers=bearer(token))
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    # Someone else is not held up by Harry.
    _, other = await sign_up(gateway, "Patient Pam")
    assert (await gateway.get("/v1/me", headers=bearer(other))).status_code == 200
