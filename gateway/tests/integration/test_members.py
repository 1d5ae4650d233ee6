"""Members: staff see them, people see themselves, owners change roles but never leave none."""

import asyncio
import uuid

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_staff_list_members_and_filter_by_role(owner, member_of, problem):
    north = await owner.add_studio("North")
    ian = await member_of(owner, "instructor", (north,), name="Ian Instructor")
    cleo = await member_of(owner, "client", name="Cleo Client")

    members = (await ian.request("GET", "/v1/members")).json()
    assert {(m["email"], m["role"]) for m in members} == {
        (owner.email, "owner"), (ian.email, "instructor"), (cleo.email, "client")}
    assert next(m for m in members if m["role"] == "instructor")["studio_ids"] == [north]

    clients = (await owner.request("GET", "/v1/members", params={"role": "client"})).json()
    assert [m["user_id"] for m in clients] == [cleo.user_id]
    problem(await owner.request("GET", "/v1/members", params={"role": "janitor"}), 422)
    problem(await cleo.request("GET", "/v1/members"), 403, "staff-only")


async def test_a_client_sees_only_themself(owner, member_of, problem):
    cleo = await member_of(owner, "client")
    assert (await cleo.request("GET", f"/v1/members/{cleo.user_id}")).json()["email"] == cleo.email
    problem(await cleo.request("GET", f"/v1/members/{owner.user_id}"), 403)
    assert (await owner.request("GET", f"/v1/members/{cleo.user_id}")).status_code == 200


async def test_people_of_another_organization_are_not_found(owner, sign_up, problem):
    rival = await sign_up("Rita")
    await rival.start_organization("Rival Gym")
    problem(await owner.request("GET", f"/v1/members/{rival.user_id}"), 404, "member-not-found")
    problem(await owner.request("PATCH", f"/v1/members/{rival.user_id}", json={"role": "client"}), 404)
    problem(await owner.request("GET", f"/v1/members/{uuid.uuid4()}"), 404)


async def test_owner_changes_a_role_and_the_change_is_published(owner, member_of, events, verify, client):
    north = await owner.add_studio("North")
    cleo = await member_of(owner, "client")
    reply = await owner.request("PATCH", f"/v1/members/{cleo.user_id}",
                                json={"role": "instructor", "studio_ids": [north]})
    assert reply.status_code == 200, reply.text
    assert (reply.json()["role"], reply.json()["studio_ids"]) == ("instructor", [north])

    event = (await events(owner.organization_id))[-1]
    assert event["type"] == "identity.member.joined.v1"
    assert event["data"]["role"] == "instructor"

    # The next refresh carries the new role.
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": cleo.refresh_token})
    assert (await verify(refreshed.json()["access_token"])).roles == {"instructor"}

    reply = await owner.request("PATCH", f"/v1/members/{cleo.user_id}", json={"role": "client"})
    assert reply.json()["studio_ids"] == []


async def test_only_owners_change_members(owner, member_of, problem):
    north = await owner.add_studio("North")
    manager = await member_of(owner, "manager", (north,))
    cleo = await member_of(owner, "client")
    problem(await manager.request("PATCH", f"/v1/members/{cleo.user_id}", json={"role": "instructor"}), 403,
            "owner-only")


async def test_the_last_owner_cannot_step_down(owner, member_of, problem):
    problem(await owner.request("PATCH", f"/v1/members/{owner.user_id}", json={"role": "manager"}), 409,
            "last-owner")
    co_owner = await member_of(owner, "owner", name="Cora Co-owner")
    reply = await owner.request("PATCH", f"/v1/members/{owner.user_id}", json={"role": "client"})
    assert reply.status_code == 200 and reply.json()["role"] == "client"
    # The former owner's token still says owner, but the stored role decides.
    problem(await owner.request("PATCH", f"/v1/members/{co_owner.user_id}", json={"role": "client"}), 403)
    problem(await co_owner.request("PATCH", f"/v1/members/{co_owner.user_id}", json={"role": "client"}), 409,
            "last-owner")


async def test_two_owners_stepping_down_at_once_leave_one(owner, member_of):
    co_owner = await member_of(owner, "owner", name="Cora Co-owner")
    people = (owner, co_owner)
    replies = await asyncio.gather(*(person.request("PATCH", f"/v1/members/{person.user_id}", json={"role": "client"})
                                     for person in people))
    assert sorted(r.status_code for r in replies) == [200, 409]
    stayed = next(person for person, reply in zip(people, replies, strict=True) if reply.status_code == 409)
    owners = (await stayed.request("GET", "/v1/members", params={"role": "owner"})).json()
    assert [o["user_id"] for o in owners] == [stayed.user_id]


async def test_unknown_studios_are_not_granted(owner, member_of, problem):
    cleo = await member_of(owner, "client")
    reply = await owner.request("PATCH", f"/v1/members/{cleo.user_id}",
                                json={"role": "instructor", "studio_ids": [str(uuid.uuid4())]})
    problem(reply, 404, "studio-not-found")
