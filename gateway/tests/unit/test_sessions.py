import uuid
from datetime import UTC, datetime, timedelta

from gateway.identity.domain.sessions import RefreshToken, Verdict, hash_secret, judge_refresh

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def token(family_id: uuid.UUID | None = None) -> tuple[RefreshToken, str]:
    return RefreshToken.issue(user_id=uuid.uuid4(), organization_id=None, lifetime=timedelta(days=30), now=NOW,
                              family_id=family_id)


def test_only_the_hash_of_a_secret_is_kept():
    refresh, secret = token()
    assert refresh.token_hash == hash_secret(secret) != secret
    assert len(secret) >= 40


def test_a_rotated_token_continues_its_family():
    first, _ = token()
    second, _ = token(family_id=first.family_id)
    assert second.family_id == first.family_id and second.id != first.id
    assert token()[0].family_id != first.family_id


def test_a_live_token_claimed_now_rotates():
    assert judge_refresh(token()[0], claimed=True, now=NOW + timedelta(days=1)) is Verdict.ROTATE


def test_a_token_spent_before_is_a_replay():
    assert judge_refresh(token()[0], claimed=False, now=NOW) is Verdict.REUSED


def test_an_old_token_has_expired():
    assert judge_refresh(token()[0], claimed=True, now=NOW + timedelta(days=30)) is Verdict.EXPIRED


def test_an_unknown_token_is_refused():
    assert judge_refresh(None, claimed=False, now=NOW) is Verdict.UNKNOWN
