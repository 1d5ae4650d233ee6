"""Booking keeps its own copy of classes from scheduling's events, newest version wins."""

import uuid
from datetime import UTC, datetime, timedelta

from booking import handlers
from studio_contracts import scheduling


def snapshot(cls, org, class_id, version, capacity=10, status="scheduled"):
    start = datetime.now(UTC) + timedelta(days=2)
    return cls(organization_id=org, class_id=class_id, version=version, class_type_id=uuid.uuid4(), name="Barre",
               studio_id=uuid.uuid4(), instructor_id=uuid.uuid4(), starts_at=start, ends_at=start + timedelta(hours=1),
               capacity=capacity, registration_closes_at=start, late_cancel_cutoff=start - timedelta(hours=12),
               status=status)


async def test_out_of_order_events_keep_the_newest_version(booking, minter):
    app, client = booking
    org, class_id = uuid.uuid4(), uuid.uuid4()
    for event in (snapshot(scheduling.ClassScheduled, org, class_id, 1, capacity=10),
                  snapshot(scheduling.ClassCancelled, org, class_id, 3, status="cancelled"),
                  snapshot(scheduling.ClassUpdated, org, class_id, 2, capacity=14)):  # late
        async with app.state.uow() as uow:
            await handlers.remember_class(event, None, uow)
            await uow.commit()

    token = minter.token(organization_id=org, roles=("client",))
    response = await client.get(f"/v1/classes/{class_id}/availability", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["version"] == 3 and response.json()["status"] == "cancelled"
    assert response.json()["capacity"] == 10 and response.json()["registration_open"] is False

    stranger = minter.token(organization_id=uuid.uuid4(), roles=("owner",))
    other = await client.get(f"/v1/classes/{class_id}/availability", headers={"Authorization": f"Bearer {stranger}"})
    assert other.status_code == 404
