import pytest

from billing.domain.products import Money
from studio_platform.errors import Invalid

from .factories import membership, ten_class_pack


def test_the_studios_tiers_are_valid_products():
    assert ten_class_pack().credits == 10
    for name, days in (("Kickstarter", 42), ("Committed", 182), ("Totally Committed", 365)):
        plan = membership(name, days, 5, features=("HR monitor included",))
        assert plan.duration_days == days and not plan.unlimited
    assert membership("Unlimited monthly", 30, None).unlimited


@pytest.mark.parametrize("make, code", [
    (lambda: ten_class_pack(credits=0), "bad-credits"),
    (lambda: ten_class_pack(validity_from="someday"), "bad-validity-from"),
    (lambda: ten_class_pack(duration_days=30), "not-a-membership"),
    (lambda: membership(per_week=0), "bad-credits"),
    (lambda: membership(credits=10), "not-a-class-pack"),
    (lambda: membership(days=0), "bad-duration"),
    (lambda: ten_class_pack(name="  "), "name-required"),
    (lambda: ten_class_pack(price=Money(-1, "GBP")), "bad-price"),
    (lambda: ten_class_pack(price=Money(100, "gbp")), "bad-currency"),
])
def test_broken_terms_are_refused(make, code):
    with pytest.raises(Invalid) as error:
        make()
    assert error.value.code == code


def test_only_name_price_and_sale_status_change():
    pack = ten_class_pack()
    renamed = pack.changed(name="Ten classes", active=False, price=Money(9900, "GBP"))
    assert (renamed.name, renamed.active, renamed.price.amount_minor, renamed.credits) == ("Ten classes", False,
                                                                                            9900, 10)
    with pytest.raises(Invalid) as error:
        pack.changed(credits=20)
    assert error.value.code == "immutable-terms"
