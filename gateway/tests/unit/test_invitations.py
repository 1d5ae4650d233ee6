import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.identity.domain.invitations import INVITATION_LIFETIME, Gone, Invitation
from studio_platform.errors import Conflict, Forbidden

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def invitation(**changes) -> Invitation:
    sent = Invitation.issue(organization_id=uuid.uuid4(), email="ann@studio.com", role="instructor",
                            studio_ids=frozenset(), token_hash="h", invited_by=uuid.uuid4(), now=NOW)
    return sent if not changes else Invitation(**{**vars(sent), **changes})


def test_an_invitation_lasts_seven_days():
    sent = invitation()
    assert sent.expires_at - sent.created_at == INVITATION_LIFETIME == timedelta(days=7)
    assert not sent.is_expired(NOW + timedelta(days=6, hours=23))
    assert sent.is_expired(NOW + timedelta(days=7))


def test_the_invited_person_may_accept_it_in_time():
    invitation().require_acceptable_by("ann@studio.com", NOW + timedelta(days=1))


def test_someone_else_may_not_accept_it():
    with pytest.raises(Forbidden):
        invitation().require_acceptable_by("bob@studio.com", NOW)


def test_an_expired_invitation_is_gone():
    with pytest.raises(Gone) as caught:
        invitation().require_acceptable_by("ann@studio.com", NOW + timedelta(days=8))
    assert (caught.value.status, caught.value.code) == (410, "invitation-expired")


def test_an_invitation_is_accepted_once():
    with pytest.raises(Conflict):
        invitation(accepted_at=NOW).require_acceptable_by("ann@studio.com", NOW)
