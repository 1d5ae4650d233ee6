"""Billing's HTTP API: products, selling packages, balances, the ledger, adjustments, and who may see what."""

import uuid

from billing.handlers import saga

from .support import KICKSTARTER, PACK, assert_ledger_consistent, bearer, credits_of, reserve, sell


async def test_owners_keep_products_and_clients_read_what_is_on_sale(billing, tenant):
    _, client = billing
    created = await client.post("/v1/products", headers=tenant["owner"], json=KICKSTARTER)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert (plan["credits_per_week"], plan["unlimited"], plan["features"]) == (5, False, ["HR monitor included"])
    pack = (await client.post("/v1/products", headers=tenant["manager"], json=PACK)).json()
    assert (pack["validity_from"], pack["credits"]) == ("purchase", 10)

    duplicate = await client.post("/v1/products", headers=tenant["owner"], json=PACK)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "product-exists"
    by_client = await client.post("/v1/products", headers=tenant["as_alice"], json={**PACK, "name": "Mine"})
    assert by_client.status_code == 403
    by_instructor = await client.patch(f"/v1/products/{pack['id']}", headers=tenant["instructor"],
                                       json={"active": False})
    assert by_instructor.status_code == 403

    off_sale = await client.patch(f"/v1/products/{pack['id']}", headers=tenant["owner"],
                                  json={"active": False, "price": {"amount_minor": 9900, "currency": "GBP"}})
    assert off_sale.status_code == 200 and off_sale.json()["price"]["amount_minor"] == 9900
    assert [p["name"] for p in (await client.get("/v1/products", headers=tenant["as_alice"])).json()] == [
        "Kickstarter"]
    everything = await client.get("/v1/products", headers=tenant["owner"], params={"include_inactive": True})
    assert len(everything.json()) == 2
    cleared = await client.patch(f"/v1/products/{pack['id']}", headers=tenant["owner"], json={"name": None})
    assert cleared.status_code == 422
    terms = await client.patch(f"/v1/products/{pack['id']}", headers=tenant["owner"], json={"credits": 20})
    assert terms.status_code == 422
    selling_it = await client.post(f"/v1/clients/{tenant['alice']}/packages", headers=tenant["owner"],
                                   json={"product_id": pack["id"]})
    assert selling_it.status_code == 422 and selling_it.json()["code"] == "product-inactive"


async def test_selling_a_pack_shows_in_the_balance_and_on_the_bus(billing, tenant, bus):
    _, client = billing
    package = await sell(client, tenant, tenant["alice"], note="Paid cash")
    assert (package["status"], package["credits"], package["note"]) == ("active", 10, "Paid cash")
    assert package["issued_by"] == str(tenant["owner_id"])
    issued = await bus.first("billing.package.issued.v1", package_id=package["id"])
    granted = await bus.first("billing.credit.granted.v1", package_id=package["id"])
    assert (issued["kind"], granted["credits"], granted["reason"]) == ("class_pack", 10, "sale")

    mine = await client.get("/v1/me/credits", headers=tenant["as_alice"])
    assert mine.status_code == 200
    [pack] = mine.json()["packages"]
    assert (pack["name"], pack["granted"], pack["available"], pack["expires_at"]) == (
        "10-class pack", 10, 10, package["expires_at"])
    assert mine.json() == await credits_of(client, tenant, tenant["alice"])
    listed = await client.get(f"/v1/clients/{tenant['alice']}/packages", headers=tenant["as_alice"])
    assert [p["id"] for p in listed.json()] == [package["id"]]


async def test_a_membership_grants_its_first_week(billing, tenant):
    _, client = billing
    package = await sell(client, tenant, tenant["alice"], KICKSTARTER)
    assert package["kind"] == "membership" and package["credits_per_week"] == 5
    [membership] = (await credits_of(client, tenant, tenant["alice"]))["packages"]
    assert (membership["granted"], membership["available"], membership["upcoming"]) == (5, 5, 0)


async def test_staff_adjust_credits_with_a_reason_and_the_ledger_remembers(billing, tenant, bus):
    app, client = billing
    package = await sell(client, tenant, tenant["alice"])
    url = f"/v1/clients/{tenant['alice']}/credit-adjustments"

    added = await client.post(url, headers=tenant["owner"], json={
        "package_id": package["id"], "credits": 2, "reason": "Goodwill: class cancelled late"})
    assert added.status_code == 201, added.text
    assert (added.json()["granted"], added.json()["available"]) == (12, 12)
    goodwill = [d for t, d in await bus.events(3, package_id=package["id"]) if t == "billing.credit.granted.v1"]
    assert [g["credits"] for g in goodwill] == [10, 2]
    removed = await client.post(url, headers=tenant["manager"], json={
        "package_id": package["id"], "credits": -3, "reason": "Sold one pack too many"})
    assert removed.json()["available"] == 9

    too_many = await client.post(url, headers=tenant["owner"], json={
        "package_id": package["id"], "credits": -100, "reason": "oops"})
    assert too_many.status_code == 422 and too_many.json()["code"] == "not-enough-credits"
    zero = await client.post(url, headers=tenant["owner"], json={"package_id": package["id"], "credits": 0,
                                                                  "reason": "nothing"})
    assert zero.status_code == 422
    by_client = await client.post(url, headers=tenant["as_alice"], json={
        "package_id": package["id"], "credits": 5, "reason": "I deserve it"})
    assert by_client.status_code == 403
    wrong_client = await client.post(f"/v1/clients/{tenant['bob']}/credit-adjustments", headers=tenant["owner"],
                                     json={"package_id": package["id"], "credits": 1, "reason": "mixup"})
    assert wrong_client.status_code == 404

    entries = (await client.get(f"/v1/clients/{tenant['alice']}/ledger", headers=tenant["as_alice"])).json()
    assert [(e["kind"], e["credits"]) for e in entries["items"]] == [("adjust", -3), ("adjust", 2), ("grant", 10)]
    assert entries["items"][1]["reason"] == "Goodwill: class cancelled late"
    assert entries["items"][1]["actor_id"] == str(tenant["owner_id"])
    await assert_ledger_consistent(app, tenant["org"])


async def test_the_ledger_pages_newest_first_and_filters_by_package(billing, tenant):
    app, client = billing
    pack = await sell(client, tenant, tenant["alice"])
    membership = await sell(client, tenant, tenant["alice"], KICKSTARTER)
    for _ in range(3):
        async with app.state.uow() as uow:
            await saga.reserve_credits([(reserve(tenant, tenant["alice"]), None)], uow)
            await uow.commit()
    url = f"/v1/clients/{tenant['alice']}/ledger"
    pages, cursor = [], None
    while True:
        page = (await client.get(url, headers=tenant["owner"],
                                 params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [e["id"] for items in pages for e in items]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)
    assert [len(items) for items in pages] == [2, 2, 1]
    only_pack = (await client.get(url, headers=tenant["owner"], params={"package_id": pack["id"]})).json()
    assert {e["package_id"] for e in only_pack["items"]} == {pack["id"]}
    # Reservations go to the membership's week first (it expires first), so the pack has only its grant.
    assert [e["kind"] for e in only_pack["items"]] == ["grant"]
    by_membership = (await client.get(url, headers=tenant["owner"], params={"package_id": membership["id"]})).json()
    assert [e["kind"] for e in by_membership["items"]] == ["reserve", "reserve", "reserve", "grant"]
    bad = await client.get(url, headers=tenant["owner"], params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad-cursor"
    bobs = await client.get(f"/v1/clients/{tenant['bob']}/ledger", headers=tenant["owner"],
                            params={"package_id": pack["id"]})
    assert bobs.status_code == 404


async def test_clients_see_only_their_own_and_other_organizations_see_nothing(billing, tenant, minter):
    _, client = billing
    package = await sell(client, tenant, tenant["alice"])
    alice = tenant["alice"]
    for path in ("credits", "packages", "ledger"):
        peek = await client.get(f"/v1/clients/{alice}/{path}", headers=tenant["as_bob"])
        assert peek.status_code == 403, path
        assert peek.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/clients/{alice}/credits", headers=tenant["instructor"])).status_code == 403

    stranger = bearer(minter.token(organization_id=uuid.uuid4(), roles=("owner",)))
    assert (await client.get(f"/v1/products/{package['product_id']}", headers=stranger)).status_code == 404
    assert (await client.patch(f"/v1/products/{package['product_id']}", headers=stranger,
                               json={"active": False})).status_code == 404
    sold_elsewhere = await client.post(f"/v1/clients/{alice}/packages", headers=stranger,
                                       json={"product_id": package["product_id"]})
    assert sold_elsewhere.status_code == 404
    adjusted_elsewhere = await client.post(f"/v1/clients/{alice}/credit-adjustments", headers=stranger,
                                           json={"package_id": package["id"], "credits": 5, "reason": "free"})
    assert adjusted_elsewhere.status_code == 404
    theirs = (await client.get(f"/v1/clients/{alice}/credits", headers=stranger)).json()
    assert theirs["packages"] == [] and theirs["totals"]["granted"] == 0
    no_org = bearer(minter.token(roles=("client",)))
    assert (await client.get("/v1/me/credits", headers=no_org)).status_code == 403
    assert (await client.get("/v1/me/credits")).status_code == 401


async def test_bad_requests_are_problems_not_crashes(billing, tenant):
    _, client = billing
    malformed = await client.post("/v1/products", headers={**tenant["owner"], "content-type": "application/json"},
                                  content=b"{not json")
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed-json"
    wrong_type = await client.post("/v1/products", headers=tenant["owner"], json={**PACK, "credits": "ten"})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["invalid_params"][0]["name"] == "class_pack.credits"
    unknown_kind = await client.post("/v1/products", headers=tenant["owner"], json={**PACK, "kind": "voucher"})
    assert unknown_kind.status_code == 422
    missing = await client.post(f"/v1/clients/{tenant['alice']}/packages", headers=tenant["owner"],
                                json={"product_id": str(uuid.uuid4())})
    assert missing.status_code == 404 and missing.json()["code"] == "product-not-found"
    product = (await client.post("/v1/products", headers=tenant["owner"], json=PACK)).json()
    naive = await client.post(f"/v1/clients/{tenant['alice']}/packages", headers=tenant["owner"],
                              json={"product_id": product["id"], "starts_at": "2030-01-01T10:00:00"})
    assert naive.status_code == 422 and naive.json()["code"] == "naive-datetime"
    over = await client.post(f"/v1/clients/{tenant['alice']}/packages", headers=tenant["owner"],
                             json={"product_id": product["id"], "starts_at": "2001-01-01T10:00:00Z"})
    assert over.status_code == 422 and over.json()["code"] == "already-expired"
    bad_id = await client.get("/v1/clients/not-a-uuid/credits", headers=tenant["owner"])
    assert bad_id.status_code == 422
    adjustment = await client.post(f"/v1/clients/{tenant['alice']}/credit-adjustments", headers=tenant["owner"],
                                   json={"package_id": str(uuid.uuid4()), "credits": 1.5, "reason": "x"})
    assert adjustment.status_code == 422
