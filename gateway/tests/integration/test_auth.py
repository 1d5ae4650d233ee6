"""Sign-up, login, refresh-token rotation and reuse detection, logout, and how bad requests are answered."""

import asyncio
import base64
import json
import time
import uuid

import pytest

from studio_platform.auth import access_claims, sign

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_sign_up_returns_the_user_and_tokens_without_an_organization(client, verify):
    reply = await client.post("/v1/auth/signup", json={"email": "  Zoe.Signup@Studio.Example ",
                                                       "password": "long enough pw", "name": "Zoe"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["user"]["email"] == "zoe.signup@studio.example"
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    principal = await verify(body["access_token"])
    assert str(principal.user_id) == body["user"]["id"]
    assert principal.organization_id is None and principal.roles == frozenset()


async def test_an_email_signs_up_once_whatever_its_case(client, sign_up, problem):
    ann = await sign_up()
    reply = await client.post("/v1/auth/signup", json={"email": ann.email.upper(), "password": "another pass",
                                                       "name": "Ann Again"})
    problem(reply, 409, "email-taken")


@pytest.mark.parametrize(("email", "password", "code"), [
    ("ann@studio.example", "short", "weak-password"),
    ("not-an-email", "long enough pw", "invalid-email"),
])
async def test_weak_passwords_and_bad_emails_are_refused(client, problem, email, password, code):
    reply = await client.post("/v1/auth/signup", json={"email": email, "password": password, "name": "Ann"})
    problem(reply, 422, code)


async def test_wrong_email_and_wrong_password_look_the_same(client, sign_up, problem):
    ann = await sign_up()
    reply = await client.post("/v1/auth/login", json={"email": ann.email, "password": "nope nope nope"})
    wrong_password = problem(reply, 401, "invalid-credentials")
    unknown = problem(await client.post("/v1/auth/login", json={"email": "nobody@studio.example",
                                                                 "password": ann.password}), 401, "invalid-credentials")
    assert wrong_password["detail"] == unknown["detail"]


async def test_login_scopes_the_token_to_the_oldest_organization_or_the_one_asked_for(
        client, sign_up, owner, verify, problem):
    ann = await sign_up()
    await ann.start_organization("First Studio Co")
    first = ann.organization_id
    await ann.start_organization("Second Studio Co")

    reply = await client.post("/v1/auth/login", json={"email": ann.email.title(), "password": ann.password})
    assert reply.status_code == 200, reply.text
    principal = await verify(reply.json()["access_token"])
    assert str(principal.organization_id) == first and principal.roles == {"owner"}

    reply = await client.post("/v1/auth/login", json={"email": ann.email, "password": ann.password,
                                                      "organization_id": ann.organization_id})
    assert str((await verify(reply.json()["access_token"])).organization_id) == ann.organization_id

    reply = await client.post("/v1/auth/login", json={"email": ann.email, "password": ann.password,
                                                      "organization_id": owner.organization_id})
    problem(reply, 403, "not-a-member")


async def test_refresh_rotates_and_a_replayed_token_revokes_the_family(client, sign_up, problem):
    ann = await sign_up()
    first = ann.refresh_token
    reply = await client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert reply.status_code == 200, reply.text
    second = reply.json()["refresh_token"]
    assert second != first

    problem(await client.post("/v1/auth/refresh", json={"refresh_token": first}), 401, "refresh-token-reused")
    # The thief's replay also ends the session the rightful owner was using.
    problem(await client.post("/v1/auth/refresh", json={"refresh_token": second}), 401, "refresh-token-reused")


async def test_concurrent_refreshes_of_one_token_have_one_winner(client, sign_up):
    ann = await sign_up()
    replies = await asyncio.gather(*(client.post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
                                     for _ in range(4)))
    assert sorted(r.status_code for r in replies) == [200, 401, 401, 401]


async def test_refresh_may_switch_to_another_organization_of_the_user(client, sign_up, owner, verify, problem):
    ann = await sign_up()
    await ann.start_organization("Ann's Studio")
    reply = await client.post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token,
                                                        "organization_id": owner.organization_id})
    problem(reply, 403, "not-a-member")
    # A refused switch spends nothing: the token still works.
    reply = await client.post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert reply.status_code == 200
    assert str((await verify(reply.json()["access_token"])).organization_id) == ann.organization_id


async def test_unknown_and_expired_refresh_tokens_are_refused(client, sign_up, db, problem):
    problem(await client.post("/v1/auth/refresh", json={"refresh_token": "made-up"}), 401, "invalid-refresh-token")
    ann = await sign_up()
    await db.execute("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
                     uuid.UUID(ann.user_id))
    problem(await client.post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token}), 401,
            "refresh-token-expired")


async def test_logout_ends_the_session(client, sign_up, problem):
    ann = await sign_up()
    reply = await client.post("/v1/auth/logout", json={"refresh_token": ann.refresh_token})
    assert reply.status_code == 204 and reply.content == b""
    problem(await client.post("/v1/auth/refresh", json={"refresh_token": ann.refresh_token}), 401)
    assert (await client.post("/v1/auth/logout", json={"refresh_token": ann.refresh_token})).status_code == 204


async def test_me_lists_my_memberships(owner, member_of):
    mia = await member_of(owner, "client")
    reply = await mia.request("GET", "/v1/me")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["user"]["email"] == mia.email
    assert body["user"]["email_verified_at"] is not None  # the invitation link proved the address
    assert body["memberships"] == [{"organization_id": owner.organization_id,
                                    "organization_name": body["memberships"][0]["organization_name"],
                                    "role": "client", "studio_ids": []}]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_missing_expired_tampered_and_foreign_tokens_are_refused(client, sign_up, settings, problem):
    ann = await sign_up()
    problem(await client.get("/v1/me"), 401, "missing-token")

    key = settings.signing_key
    claims = access_claims(user_id=uuid.UUID(ann.user_id), organization_id=None, roles=[], studio_ids=[],
                           name="Ann", issuer=settings.auth_issuer, audience=settings.auth_audience, ttl_seconds=60,
                           now=time.time() - 3600)
    expired = sign(claims, private_key=key.private_key, kid=key.kid)

    header, payload, signature = ann.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = ".".join([header, _b64({**claims, "roles": ["owner"], "org": str(uuid.uuid4())}), signature])

    for token, code in [(expired, "token-expired"), (tampered, "invalid-token"), ("not.a.jwt", "invalid-token")]:
        reply = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        problem(reply, 401, code)
        assert reply.headers["www-authenticate"] == "Bearer"


async def test_malformed_json_is_a_bad_request(client, problem):
    reply = await client.post("/v1/auth/login", content=b'{"email": "ann@',
                              headers={"content-type": "application/json"})
    problem(reply, 400, "malformed-json")


async def test_wrong_types_name_the_fields(client, problem):
    reply = await client.post("/v1/auth/signup", json={"email": 42, "password": ["x"], "name": "Ann"})
    body = problem(reply, 422, "validation-failed")
    assert {p["name"] for p in body["invalid_params"]} == {"email", "password"}


async def test_nul_characters_are_refused_before_the_database(client, problem):
    reply = await client.post("/v1/auth/login", json={"email": "ann\u0000@studio.example", "password": "whatever"})
    body = problem(reply, 422, "validation-failed")
    assert body["invalid_params"][0]["name"] == "email"


async def test_the_jwks_names_the_key_tokens_are_signed_with(client, sign_up):
    ann = await sign_up()
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    header = json.loads(base64.urlsafe_b64decode(ann.access_token.split(".")[0] + "=="))
    assert [k["kid"] for k in keys] == [header["kid"]]
    assert keys[0]["kty"] == "OKP" and keys[0]["alg"] == "EdDSA" and "d" not in keys[0]
