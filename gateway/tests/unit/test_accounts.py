import pytest

from gateway.identity.domain.accounts import (
    MIN_PASSWORD_LENGTH,
    normalise_email,
    require_name,
    require_strong_password,
    require_valid_email,
)
from studio_platform.errors import Invalid


def test_emails_are_trimmed_and_lower_cased():
    assert normalise_email("  Ann.Lee@YogaLoft.Example ") == "ann.lee@yogaloft.example"
    assert require_valid_email("Ann@Studio.com") == "ann@studio.com"


@pytest.mark.parametrize("raw", ["", "ann", "ann@", "@studio.com", "ann@@studio.com", "ann lee@studio.com"])
def test_malformed_emails_are_refused(raw):
    with pytest.raises(Invalid) as caught:
        require_valid_email(raw)
    assert caught.value.code == "invalid-email"


def test_a_password_needs_ten_characters():
    require_strong_password("x" * MIN_PASSWORD_LENGTH)
    with pytest.raises(Invalid) as caught:
        require_strong_password("x" * (MIN_PASSWORD_LENGTH - 1))
    assert caught.value.code == "weak-password"


def test_absurdly_long_passwords_are_refused():
    with pytest.raises(Invalid):
        require_strong_password("x" * 10_000)


def test_names_are_trimmed_and_never_blank():
    assert require_name("  Yoga   Loft ") == "Yoga Loft"
    with pytest.raises(Invalid):
        require_name("   ")
    with pytest.raises(Invalid):
        require_name("Ann\x07")
