import uuid
from datetime import UTC, datetime
from typing import get_args

import pytest

from gateway.identity.domain.memberships import (
    ROLES,
    Membership,
    Role,
    require_keeps_an_owner,
    require_may_invite,
    studios_for_role,
)
from studio_contracts.identity import Role as ContractRole
from studio_platform.errors import Conflict, Forbidden, Invalid

NORTH, SOUTH = uuid.uuid4(), uuid.uuid4()


def member(role: Role, *studios: uuid.UUID) -> Membership:
    return Membership(id=uuid.uuid4(), organization_id=uuid.uuid4(), user_id=uuid.uuid4(), role=role,
                      studio_ids=frozenset(studios), created_at=datetime.now(UTC))


def test_roles_match_the_event_contract():
    assert set(ROLES) == set(get_args(ContractRole))


def test_owners_manage_every_studio_managers_only_theirs():
    assert member("owner").manages_studio(NORTH)
    assert member("manager", NORTH).manages_studio(NORTH)
    assert not member("manager", NORTH).manages_studio(SOUTH)
    assert not member("instructor", NORTH).manages_studio(NORTH)


def test_only_managers_and_instructors_are_bound_to_studios():
    assert studios_for_role("instructor", [NORTH]) == {NORTH}
    assert studios_for_role("client", []) == frozenset()
    with pytest.raises(Invalid):
        studios_for_role("client", [NORTH])
    with pytest.raises(Invalid):
        studios_for_role("owner", [NORTH])


def test_a_role_change_drops_studios_the_new_role_cannot_have():
    manager = member("manager", NORTH)
    assert manager.changed(role="instructor").studio_ids == {NORTH}
    assert manager.changed(role="client").studio_ids == frozenset()
    assert manager.changed(studio_ids=[SOUTH]).studio_ids == {SOUTH}
    with pytest.raises(Invalid):
        manager.changed(role="client", studio_ids=[NORTH])


def test_owners_invite_anyone():
    require_may_invite(member("owner"), "owner", frozenset())
    require_may_invite(member("owner"), "manager", frozenset({NORTH}))


def test_managers_invite_instructors_and_clients_to_their_own_studios():
    manager = member("manager", NORTH)
    require_may_invite(manager, "instructor", frozenset({NORTH}))
    require_may_invite(manager, "client", frozenset())
    for role, studios in [("manager", {NORTH}), ("owner", set()), ("instructor", {SOUTH}), ("instructor", set())]:
        with pytest.raises(Forbidden):
            require_may_invite(manager, role, frozenset(studios))


@pytest.mark.parametrize("role", ["instructor", "client"])
def test_instructors_and_clients_invite_no_one(role):
    with pytest.raises(Forbidden):
        require_may_invite(member(role), "client", frozenset())


def test_the_last_owner_keeps_the_role():
    owner = member("owner")
    with pytest.raises(Conflict) as caught:
        require_keeps_an_owner(owner, "manager", owners=1)
    assert caught.value.code == "last-owner"
    require_keeps_an_owner(owner, "manager", owners=2)
    require_keeps_an_owner(owner, "owner", owners=1)
