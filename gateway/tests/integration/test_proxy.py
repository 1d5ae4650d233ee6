"""The proxy forwards a request at the ASGI level to a real service on 127.0.0.1, and answers for it when it
cannot: the request as sent (path, query, body, the headers that travel), the answer as given."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import httpx
import pytest
from aiohttp import web
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.edge.proxy import MAX_BODY, Admission, ProxyMiddleware, ServiceProxy
from gateway.edge.soldout import SoldOut
from studio_platform.auth import TokenVerifier
from studio_platform.telemetry import RequestContextMiddleware
from studio_platform.testing import AUDIENCE, ISSUER

OWN = "the gateway's own"
ATTEMPTS_PER_CLASS = 2
ATTEMPTS = web.AppKey("attempts", list)
FULL = {"type": "/problems/class-full", "title": "Conflict", "status": 409, "code": "class-full",
        "waitlist_open": True, "waitlisted": 0, "seats_version": 1}


async def echo(request: web.Request) -> web.Response:
    if request.method == "DELETE":
        return web.Response(status=204)
    body = await request.read()
    if "set-cookie" in request.query:
        return web.json_response({}, headers={"Set-Cookie": "session=one-callers; Path=/"})
    return web.json_response(
        {"method": request.method, "raw_path": request.raw_path, "body": body.decode(),
         "headers": {k.lower(): v for k, v in request.headers.items()}},
        status=201 if request.method == "POST" else 200,
        headers={"Location": "/v1/things/1", "ETag": '"7"', "X-Internal": "not for the caller"})


async def full_class(request: web.Request) -> web.Response:
    """Booking, slow to say the class is full, as in a rush."""
    request.app[ATTEMPTS].append(request.match_info["class_id"])
    await asyncio.sleep(0.2)
    return web.json_response(FULL, status=409, content_type="application/problem+json")


def service_document(*paths: str) -> dict:
    return {"paths": {p: {"get": {}, "post": {}, "delete": {}} for p in paths}}


@pytest.fixture
async def upstream():
    app = web.Application()
    async def document(_: web.Request) -> web.Response:
        return web.json_response(service_document("/v1/things/{id}", "/v1/me/things",
                                                  "/v1/classes/{class_id}/bookings"))

    app.router.add_get("/openapi.json", document)
    app.router.add_post("/v1/classes/{class_id}/bookings", full_class)
    app.router.add_route("*", "/v1/{tail:.*}", echo)
    app[ATTEMPTS] = []
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", app[ATTEMPTS]
    await runner.cleanup()


async def running(proxy: ServiceProxy) -> asyncio.Task[None]:
    task = asyncio.create_task(proxy.run())
    for _ in range(100):
        if proxy.routes.services == set(proxy.services):
            return task
        await asyncio.sleep(0.05)
    raise AssertionError("the proxy never learnt the service's routes")


@pytest.fixture
def soldout():
    return SoldOut(ttl=60)


@pytest.fixture
async def gateway(upstream, soldout, minter):
    proxy = ServiceProxy({"things": upstream[0], "gone": "http://127.0.0.1:9"})
    proxy.routes.learn("gone", service_document("/v1/gone/{id}"))
    task = await running(proxy)
    app = Starlette(routes=[Route("/v1/me/{rest:path}", lambda _: PlainTextResponse(OWN))])
    app.state.token_verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=minter.jwks)
    app.add_middleware(ProxyMiddleware, proxy=proxy, methods=frozenset({"GET", "POST", "DELETE"}), soldout=soldout,
                       attempts_per_class=ATTEMPTS_PER_CLASS)
    app.add_middleware(RequestContextMiddleware)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app, client=("203.0.113.9", 4000)),
                                 base_url="http://gateway") as client:
        yield client
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_request_reaches_the_service_as_sent_and_its_answer_comes_back(gateway):
    trace_id = "ab" * 16
    answer = await gateway.post("/v1/things/a%20b?q=caf%C3%A9&q=2", content=b'{"x": 1}', headers={
        "Authorization": "Bearer t", "Content-Type": "application/json", "Idempotency-Key": "k1",
        "Cookie": "not forwarded", "X-Request-ID": "req-1", "traceparent": f"00-{trace_id}-{'1' * 16}-01"})
    assert answer.status_code == 201
    seen = answer.json()
    assert seen["method"] == "POST" and seen["raw_path"] == "/v1/things/a%20b?q=caf%C3%A9&q=2"
    assert seen["body"] == '{"x": 1}'
    headers = seen["headers"]
    assert headers["authorization"] == "Bearer t" and headers["idempotency-key"] == "k1"
    assert headers["x-request-id"] == "req-1" and headers["x-forwarded-for"] == "203.0.113.9"
    assert headers["traceparent"].split("-")[1] == trace_id  # the trace goes on to the service
    assert "cookie" not in headers
    assert answer.headers["location"] == "/v1/things/1" and answer.headers["etag"] == '"7"'
    assert "x-internal" not in answer.headers
    assert answer.headers["x-request-id"] == "req-1"


async def test_a_cookie_one_answer_sets_never_goes_out_with_the_next_request(upstream):
    # By host name, as services are addressed in a deployment (a cookie jar ignores cookies of bare addresses).
    proxy = ServiceProxy({"things": upstream[0].replace("127.0.0.1", "localhost")})
    task = await running(proxy)
    try:
        app = Starlette()
        app.add_middleware(ProxyMiddleware, proxy=proxy, methods=frozenset({"GET"}), soldout=SoldOut(ttl=60),
                           attempts_per_class=ATTEMPTS_PER_CLASS)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
            assert (await client.get("/v1/things/1?set-cookie")).status_code == 200
            seen = (await client.get("/v1/things/2")).json()
        assert "cookie" not in seen["headers"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_gateways_own_operations_win(gateway):
    answer = await gateway.get("/v1/me/things")
    assert answer.text == OWN


async def test_what_the_proxy_cannot_forward_is_a_problem(gateway):
    too_big = await gateway.post("/v1/things/1", content=b"x" * (MAX_BODY + 1))
    assert too_big.status_code == 413 and too_big.json()["code"] == "body-too-large"
    assert too_big.headers["content-type"] == "application/problem+json"

    unreachable = await gateway.get("/v1/gone/1")
    assert unreachable.status_code == 502 and unreachable.json()["code"] == "upstream-unreachable"
    assert unreachable.json()["instance"] == "/v1/gone/1"


async def test_a_body_sent_in_parts_arrives_whole(gateway):
    async def parts():
        for part in (b'{"a": ', b'"b"}'):
            yield part

    answer = await gateway.post("/v1/things/2", content=parts())
    assert json.loads(answer.json()["body"]) == {"a": "b"}


async def test_an_answer_without_a_body_comes_back_without_a_length(gateway):
    answer = await gateway.delete("/v1/things/3")
    assert answer.status_code == 204 and answer.content == b""
    assert "content-length" not in answer.headers


async def test_attempts_on_one_class_are_let_through_a_few_at_a_time():
    admission, inside, most = Admission(2), 0, 0

    async def attempt(class_id):
        nonlocal inside, most
        async with admission.admit(class_id):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    one, other = uuid4(), uuid4()
    await asyncio.gather(*(attempt(one) for _ in range(6)), attempt(other))
    assert most == 3  # two on one class, and the other class's own
    assert admission.in_use() == 0  # a class's gate goes with its last attempt


async def test_a_rush_on_a_full_class_waits_at_the_edge_for_bookings_answer(gateway, upstream, soldout,
                                                                             minter):
    org, class_id = uuid4(), uuid4()
    soldout.on_availability(org, {"class_id": str(class_id), "confirmed": 0, "pending": 0, "seats_version": 1})
    callers = [{"Authorization": f"Bearer {minter.token(organization_id=org)}"} for _ in range(10)]
    answers = await asyncio.gather(*(gateway.post(f"/v1/classes/{class_id}/bookings", headers=h) for h in callers))
    assert [a.status_code for a in answers] == [409] * 10
    assert all(a.json() == FULL for a in answers)
    # Only the first few reached booking; the rest waited at the edge and were given booking's answer there.
    assert len(upstream[1]) == ATTEMPTS_PER_CLASS
    # An attempt booking must see itself (a retry with its key) still reaches it.
    retry = await gateway.post(f"/v1/classes/{class_id}/bookings", headers={**callers[0], "Idempotency-Key": "k"})
    assert retry.status_code == 409 and len(upstream[1]) == ATTEMPTS_PER_CLASS + 1
