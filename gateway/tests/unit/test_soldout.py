"""When the edge may repeat booking's `class-full` answer, and when it must ask booking again."""

from uuid import uuid4

from gateway.edge.soldout import SoldOut

ORG, CLASS = uuid4(), uuid4()
FULL = b'{"code": "class-full"}'


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def booking(client, status):
    return {"class_id": str(CLASS), "client_id": str(client), "status": status}


def seats(confirmed, pending, version):
    return {"class_id": str(CLASS), "confirmed": confirmed, "pending": pending, "seats_version": version}


def full_class(*holders, clock=None):
    """A class of len(holders) seats, every one announced as held, and booking's answer at that version."""
    view = SoldOut(ttl=1.0, clock=clock or Clock())
    for version, holder in enumerate(holders, start=1):
        view.on_booking(ORG, booking(holder, "pending"))
        view.on_availability(ORG, seats(0, version, version))
    view.remember(CLASS, ORG, FULL, len(holders))
    return view


def test_the_answer_is_repeated_to_others_of_the_organization_but_not_to_a_holder():
    alice, bob = uuid4(), uuid4()
    view = full_class(alice)
    assert view.answer(CLASS, ORG, bob) == FULL
    assert view.answer(CLASS, ORG, alice) is None  # booking tells her `already-booked`
    assert view.answer(CLASS, uuid4(), bob) is None  # another organization: booking answers 404
    assert view.answer(uuid4(), ORG, bob) is None  # a class never answered full


def test_any_announced_change_ends_the_answer_but_an_older_one_does_not():
    alice, bob = uuid4(), uuid4()
    view = full_class(alice)
    view.on_availability(ORG, seats(0, 1, 0))  # overtaken by version 1
    view.on_availability(ORG, seats(0, 1, 1))  # the very change booking answered from
    assert view.answer(CLASS, ORG, bob) == FULL
    view.on_booking(ORG, booking(alice, "cancelled"))
    view.on_availability(ORG, seats(0, 0, 2))
    assert view.answer(CLASS, ORG, bob) is None


def test_an_answer_from_before_an_announced_change_is_not_kept():
    alice, bob = uuid4(), uuid4()
    view = full_class(alice)
    view.on_availability(ORG, seats(0, 1, 2))  # a change booking had not seen when it answered
    view.remember(CLASS, ORG, FULL, 1)
    assert view.answer(CLASS, ORG, bob) is None


def test_without_every_holder_known_booking_is_asked():
    alice, bob, carol = uuid4(), uuid4(), uuid4()
    view = SoldOut(ttl=1.0, clock=Clock())
    view.on_booking(ORG, booking(alice, "confirmed"))
    view.on_availability(ORG, seats(1, 1, 7))  # two seats held, one holder heard of (the gateway started late)
    view.remember(CLASS, ORG, FULL, 7)
    assert view.answer(CLASS, ORG, carol) is None  # carol may be the one it missed
    view.on_booking(ORG, booking(bob, "pending"))
    assert view.answer(CLASS, ORG, carol) == FULL
    view.on_booking(ORG, booking(bob, "rejected"))  # heard before the seat's release is announced
    assert view.answer(CLASS, ORG, carol) is None


def test_the_answer_lasts_only_its_time():
    clock = Clock()
    view = full_class(uuid4(), clock=clock)
    clock.now = 0.9
    assert view.answer(CLASS, ORG, uuid4()) == FULL
    clock.now = 1.1
    assert view.answer(CLASS, ORG, uuid4()) is None
    assert SoldOut(ttl=0).answer(CLASS, ORG, uuid4()) is None


def test_the_view_forgets_the_classes_heard_of_least_lately():
    view = SoldOut(ttl=1.0, max_classes=2, clock=Clock())
    first, second, third = uuid4(), uuid4(), uuid4()
    for class_id in (first, second, third):
        view.on_availability(ORG, {"class_id": str(class_id), "confirmed": 0, "pending": 0, "seats_version": 1})
        view.remember(class_id, ORG, FULL, 1)
    assert view.answer(first, ORG, uuid4()) is None
    assert view.answer(third, ORG, uuid4()) == FULL
