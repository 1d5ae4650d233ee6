import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from scheduling.domain.browse import BrowseQuery
from scheduling.domain.directory import Member
from scheduling.domain.model import ClassSession, ClassType
from studio_platform.errors import Conflict, Invalid

NOW = datetime(2030, 3, 1, 9, tzinfo=UTC)
ORG = uuid.uuid4()


def reformer(**changes):
    values = dict(organization_id=ORG, name="Reformer", colour="#ff6b35", default_capacity=12,
                  default_duration_minutes=50)
    return ClassType.create(**{**values, **changes})


def schedule(**changes):
    values = dict(organization_id=ORG, class_type=reformer(), studio_id=uuid.uuid4(), instructor_id=uuid.uuid4(),
                  starts_at=NOW + timedelta(days=2), now=NOW, default_late_cancel=timedelta(hours=12))
    return ClassSession.schedule(**{**values, **changes})


def test_a_new_class_takes_its_defaults_from_the_type_and_policy():
    session = schedule()
    assert session.capacity == 12 and session.name == "Reformer"
    assert session.ends_at - session.starts_at == timedelta(minutes=50)
    assert session.registration_closes_at == session.starts_at
    assert session.late_cancel_cutoff == session.starts_at - timedelta(hours=12)
    assert session.events == ["scheduled"] and session.version == 1


@pytest.mark.parametrize("changes, code", [
    ({"starts_at": NOW - timedelta(minutes=1)}, "starts-in-past"),
    ({"ends_at": NOW + timedelta(days=2)}, "ends-before-start"),
    ({"ends_at": NOW + timedelta(days=2, hours=13)}, "class-too-long"),
    ({"registration_closes_at": NOW + timedelta(days=3)}, "bad-registration-window"),
    ({"registration_opens_at": NOW + timedelta(days=2)}, "bad-registration-window"),
    ({"late_cancel_cutoff": NOW + timedelta(days=2, minutes=1)}, "bad-cancel-cutoff"),
    ({"starts_at": datetime(2030, 3, 5, 9)}, "naive-datetime"),
    ({"class_type": reformer(archived=True)}, "class-type-archived"),
])
def test_scheduling_rules(changes, code):
    with pytest.raises(Invalid) as error:
        schedule(**changes)
    assert error.value.code == code


def test_moving_a_class_moves_its_windows_with_it():
    session = schedule()
    cutoff = session.late_cancel_cutoff
    session.update(NOW, starts_at=session.starts_at + timedelta(hours=3))
    assert session.late_cancel_cutoff == cutoff + timedelta(hours=3)
    assert session.registration_closes_at == session.starts_at
    assert session.version == 2 and session.events == ["scheduled", "updated"]


def test_cancelled_or_finished_classes_cannot_change():
    session = schedule()
    session.cancel(NOW, "Instructor ill")
    with pytest.raises(Conflict):
        session.cancel(NOW, None)
    with pytest.raises(Conflict):
        schedule().update(NOW + timedelta(days=3), capacity=3)


def test_class_type_rules():
    with pytest.raises(Invalid):
        reformer(colour="orange")
    with pytest.raises(Invalid):
        reformer(default_capacity=0)
    with pytest.raises(Invalid):
        reformer().changed(name="  ")


def test_who_may_teach_where():
    studio = uuid.uuid4()
    Member(uuid.uuid4(), ORG, "Sam", "instructor", frozenset()).ensure_can_teach_at(studio)
    with pytest.raises(Invalid):
        Member(uuid.uuid4(), ORG, "Sam", "instructor", frozenset({uuid.uuid4()})).ensure_can_teach_at(studio)
    with pytest.raises(Invalid):
        Member(uuid.uuid4(), ORG, "Cleo", "client", frozenset()).ensure_can_teach_at(studio)


def test_browse_defaults_and_limits():
    query = BrowseQuery.build(organization_id=ORG, now=NOW, max_days=62)
    assert query.starts_before - query.starts_from == timedelta(days=7)
    evening = BrowseQuery.build(organization_id=ORG, now=NOW, max_days=62, time_of_day="evening")
    assert evening.local_time_from == time(17)
    with pytest.raises(Invalid):
        BrowseQuery.build(organization_id=ORG, now=NOW, max_days=62, starts_before=NOW + timedelta(days=90))
    with pytest.raises(Invalid):
        BrowseQuery.build(organization_id=ORG, now=NOW, max_days=62, time_of_day="morning",
                          local_time_from=time(6))
