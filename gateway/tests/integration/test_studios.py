"""Studios: owners add them, owners and their managers change them, other tenants never see them."""

import uuid

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_owner_adds_lists_and_reads_studios(owner, events):
    reply = await owner.request("POST", "/v1/studios",
                                json={"name": "North", "time_zone": "America/New_York", "address": "1 Main St"})
    assert reply.status_code == 201, reply.text
    studio = reply.json()
    assert studio["organization_id"] == owner.organization_id and studio["time_zone"] == "America/New_York"

    assert [s["id"] for s in (await owner.request("GET", "/v1/studios")).json()] == [studio["id"]]
    assert (await owner.request("GET", f"/v1/studios/{studio['id']}")).json() == studio

    event = (await events(owner.organization_id))[-1]
    assert event["type"] == "identity.studio.created.v1" and event["subject"] == studio["id"]
    assert event["data"]["address"] == "1 Main St"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/berlin", "+01:00"])
async def test_unknown_time_zones_are_refused(owner, problem, zone):
    reply = await owner.request("POST", "/v1/studios", json={"name": "South", "time_zone": zone})
    problem(reply, 422, "unknown-time-zone")


async def test_patch_changes_only_what_is_sent(owner, events, problem):
    studio_id = await owner.add_studio("East")
    reply = await owner.request("PATCH", f"/v1/studios/{studio_id}", json={"address": "2 Side St"})
    assert reply.json()["address"] == "2 Side St" and reply.json()["name"] == "East"
    reply = await owner.request("PATCH", f"/v1/studios/{studio_id}", json={"time_zone": "Asia/Tokyo", "address": None})
    assert (reply.json()["time_zone"], reply.json()["address"]) == ("Asia/Tokyo", None)
    assert (await events(owner.organization_id))[-1]["type"] == "identity.studio.updated.v1"
    problem(await owner.request("PATCH", f"/v1/studios/{studio_id}", json={"time_zone": "Nowhere/Else"}), 422)


async def test_another_organizations_studio_does_not_exist_for_me(owner, sign_up, problem):
    studio_id = await owner.add_studio("Private")
    rival = await sign_up("Rita Rival")
    await rival.start_organization("Rival Gym")
    problem(await rival.request("GET", f"/v1/studios/{studio_id}"), 404, "studio-not-found")
    problem(await rival.request("PATCH", f"/v1/studios/{studio_id}", json={"name": "Mine"}), 404)
    problem(await rival.request("GET", f"/v1/studios/{uuid.uuid4()}"), 404)
    assert (await rival.request("GET", "/v1/studios")).json() == []


async def test_only_owners_add_studios_and_only_their_managers_change_them(owner, member_of, problem):
    north, south = await owner.add_studio("North"), await owner.add_studio("South")
    manager = await member_of(owner, "manager", (north,))
    client = await member_of(owner, "client", name="Cleo Client")

    problem(await manager.request("POST", "/v1/studios", json={"name": "West", "time_zone": "UTC"}), 403, "owner-only")
    reply = await manager.request("PATCH", f"/v1/studios/{north}", json={"name": "North Loft"})
    assert reply.status_code == 200 and reply.json()["name"] == "North Loft"
    problem(await manager.request("PATCH", f"/v1/studios/{south}", json={"name": "Taken Over"}), 403,
            "not-studio-manager")
    problem(await client.request("PATCH", f"/v1/studios/{north}", json={"name": "Mine"}), 403)
    assert len((await client.request("GET", "/v1/studios")).json()) == 2
