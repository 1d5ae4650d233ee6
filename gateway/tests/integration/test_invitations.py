"""Invitations: who may invite whom, and accepting once, in time, as the invited person."""

import asyncio
import uuid

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_invitation_is_sent_listed_and_accepted(owner, sign_up, events, verify):
    studio = await owner.add_studio("North")
    ian = await sign_up("Ian Instructor")
    sent = await owner.invite(ian, "instructor", (studio,))
    assert sent["accept_url"] == f"https://studio.example/invitations/accept?token={sent['accept_token']}"
    assert sent["studio_ids"] == [studio] and sent["email"] == ian.email

    event = (await events(owner.organization_id))[-1]["data"]
    assert event["accept_token"] == sent["accept_token"] and event["invited_by_name"] == "Olga Owner"
    assert [i["id"] for i in (await owner.request("GET", "/v1/invitations")).json()] == [sent["id"]]

    reply = await ian.accept(sent)
    assert reply.status_code == 200, reply.text
    assert reply.json()["membership"] == {"organization_id": owner.organization_id,
                                          "organization_name": reply.json()["organization"]["name"],
                                          "role": "instructor", "studio_ids": [studio]}
    principal = await verify(ian.access_token)
    assert str(principal.organization_id) == owner.organization_id
    assert principal.roles == {"instructor"} and {str(s) for s in principal.studio_ids} == {studio}
    assert (await owner.request("GET", "/v1/invitations")).json() == []
    assert (await events(owner.organization_id))[-1]["type"] == "identity.member.joined.v1"


async def test_only_the_invited_email_may_accept(owner, sign_up, problem):
    ian, eve = await sign_up("Ian"), await sign_up("Eve")
    sent = await owner.invite(ian, "client")
    problem(await eve.accept(sent), 403, "invitation-not-yours")
    assert (await ian.accept(sent)).status_code == 200


async def test_an_invitation_is_accepted_once(owner, sign_up, problem):
    ian = await sign_up("Ian")
    sent = await owner.invite(ian, "client")
    assert (await ian.accept(sent)).status_code == 200
    problem(await ian.accept(sent), 409, "invitation-accepted")


async def test_an_expired_invitation_is_gone(owner, sign_up, db, problem):
    ian = await sign_up("Ian")
    sent = await owner.invite(ian, "client")
    await db.execute("UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = $1",
                     uuid.UUID(sent["id"]))
    problem(await ian.accept(sent), 410, "invitation-expired")


async def test_an_unknown_token_finds_nothing(sign_up, problem):
    ian = await sign_up("Ian")
    problem(await ian.accept({"accept_token": "guessed"}), 404, "invitation-not-found")


async def test_concurrent_accepts_have_one_winner(owner, sign_up, problem):
    ian = await sign_up("Ian")
    sent = await owner.invite(ian, "client")
    replies = await asyncio.gather(*(ian.accept(sent) for _ in range(4)))
    assert sorted(r.status_code for r in replies) == [200, 409, 409, 409]
    for reply in replies:
        if reply.status_code == 409:
            problem(reply, 409, "invitation-accepted")


async def test_two_invitations_make_one_membership(owner, sign_up, problem):
    ian = await sign_up("Ian")
    first, second = await owner.invite(ian, "client"), await owner.invite(ian, "client")
    replies = await asyncio.gather(ian.accept(first), ian.accept(second))
    assert sorted(r.status_code for r in replies) == [200, 409]
    assert next(r for r in replies if r.status_code == 409).json()["code"] == "already-member"


async def test_members_are_not_invited_again(owner, member_of, problem):
    mia = await member_of(owner, "client")
    reply = await owner.request("POST", "/v1/invitations", json={"email": mia.email.upper(), "role": "instructor"})
    problem(reply, 409, "already-member")


async def test_managers_invite_instructors_and_clients_to_their_own_studios(owner, member_of, sign_up, problem):
    north, south = await owner.add_studio("North"), await owner.add_studio("South")
    manager = await member_of(owner, "manager", (north,))
    ian = await sign_up("Ian")
    await manager.invite(ian, "instructor", (north,))
    await manager.invite(ian, "client")
    for role, studios, code in [("instructor", [south], "invite-not-allowed"), ("manager", [north], None),
                                ("owner", [], None)]:
        reply = await manager.request("POST", "/v1/invitations",
                                      json={"email": ian.email, "role": role, "studio_ids": studios})
        problem(reply, 403, code)


async def test_clients_and_instructors_invite_no_one(owner, member_of, problem):
    client = await member_of(owner, "client")
    reply = await client.request("POST", "/v1/invitations", json={"email": "x@studio.example", "role": "client"})
    problem(reply, 403)
    problem(await client.request("GET", "/v1/invitations"), 403, "staff-only")


async def test_studios_of_another_organization_cannot_be_granted(owner, sign_up, problem):
    rival = await sign_up("Rita")
    await rival.start_organization("Rival Gym")
    foreign = await rival.add_studio("Theirs")
    reply = await owner.request("POST", "/v1/invitations",
                                json={"email": "new@studio.example", "role": "instructor", "studio_ids": [foreign]})
    problem(reply, 404, "studio-not-found")


async def test_clients_are_not_bound_to_studios(owner, problem):
    north = await owner.add_studio("North")
    reply = await owner.request("POST", "/v1/invitations",
                                json={"email": "new@studio.example", "role": "client", "studio_ids": [north]})
    problem(reply, 422, "studios-not-allowed")
