import itertools

import pytest

from gateway.identity.domain.organizations import SLUG_MAX_LENGTH, require_time_zone, slug_candidates, slugify
from studio_platform.errors import Invalid


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"])
def test_iana_zones_are_accepted(zone):
    assert require_time_zone(zone) == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/berlin", "+02:00", "", "CEST"])
def test_other_zones_are_refused(zone):
    with pytest.raises(Invalid) as caught:
        require_time_zone(zone)
    assert caught.value.code == "unknown-time-zone"


def test_slugs_are_url_friendly():
    assert slugify("Yoga Loft — Berlin!") == "yoga-loft-berlin"
    assert slugify("***") == "studio"
    assert len(slugify("x" * 200)) == SLUG_MAX_LENGTH


def test_taken_slugs_get_a_random_suffix():
    first, second, third = itertools.islice(slug_candidates("Yoga Loft"), 3)
    assert first == "yoga-loft"
    assert second.startswith("yoga-loft-") and second != third
