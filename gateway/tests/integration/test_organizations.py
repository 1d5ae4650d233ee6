"""Starting an organization: owner tokens scoped to it, and its events through the outbox onto the bus."""


import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_founder_owns_the_new_organization_at_once(sign_up, verify):
    ann = await sign_up()
    body = await ann.start_organization("Yoga Loft Berlin!")
    assert body["organization"]["name"] == "Yoga Loft Berlin!"
    assert body["organization"]["slug"].startswith("yoga-loft-berlin")
    assert body["membership"]["role"] == "owner"
    principal = await verify(body["tokens"]["access_token"])
    assert str(principal.organization_id) == ann.organization_id
    assert principal.roles == {"owner"} and str(principal.user_id) == ann.user_id

    reply = await ann.request("GET", "/v1/organizations/current")
    assert reply.status_code == 200 and reply.json()["id"] == ann.organization_id


async def test_two_organizations_may_share_a_name(sign_up):
    first, second = await sign_up(), await sign_up()
    one = await first.start_organization("Same Name")
    other = await second.start_organization("Same Name")
    assert one["organization"]["slug"] != other["organization"]["slug"]


async def test_without_an_organization_tenant_routes_are_forbidden(sign_up, problem):
    ann = await sign_up()
    problem(await ann.request("GET", "/v1/studios"), 403, "no-organization")
    problem(await ann.request("GET", "/v1/organizations/current"), 403, "no-organization")


async def test_events_go_through_the_outbox_to_the_identity_stream(sign_up, events):
    ann = await sign_up("Ann Founder")
    await ann.start_organization("Outbox Studio")
    published = await events(ann.organization_id)  # once the outbox has sent (and deleted) every row
    assert [e["type"] for e in published] == ["identity.organization.created.v1", "identity.member.joined.v1"]
    created, joined = (e["data"] for e in published)
    assert created["owner_user_id"] == ann.user_id and created["name"] == "Outbox Studio"
    assert joined == {"organization_id": ann.organization_id, "user_id": ann.user_id, "name": "Ann Founder",
                      "email": ann.email, "role": "owner", "studio_ids": []}
    for event in published:
        assert event["headers"]["Nats-Msg-Id"] == event["id"]
        assert event["headers"]["ce-source"] == "/services/gateway"
        assert event["nats_subject"] == event["type"].rsplit(".", 1)[0]


async def test_a_refused_change_writes_no_event(owner, events, problem):
    await owner.add_studio("Twin")
    before = len(await events(owner.organization_id))
    reply = await owner.request("POST", "/v1/studios", json={"name": "Twin", "time_zone": "Europe/Berlin"})
    problem(reply, 409, "studio-name-taken")
    assert len(await events(owner.organization_id)) == before
