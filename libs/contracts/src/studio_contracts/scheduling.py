"""Events published by scheduling: class types and class sessions.

Class events carry the whole class (a snapshot) and its `version`, so a
consumer keeps a copy by applying the newest version it has seen, whatever the
order of delivery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from studio_contracts.base import Event


class ClassTypeSnapshot(Event):
    class_type_id: UUID
    name: str
    colour: str
    description: str | None = None
    default_capacity: int
    default_duration_minutes: int
    archived: bool = False


class ClassTypeCreated(ClassTypeSnapshot):
    type = "scheduling.class_type.created.v1"


class ClassTypeUpdated(ClassTypeSnapshot):
    type = "scheduling.class_type.updated.v1"


class ClassSnapshot(Event):
    class_id: UUID
    version: int
    class_type_id: UUID
    name: str
    studio_id: UUID
    instructor_id: UUID
    room: str | None = None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime
    late_cancel_cutoff: datetime
    status: Literal["scheduled", "cancelled"]


class ClassScheduled(ClassSnapshot):
    type = "scheduling.class.scheduled.v1"


class ClassUpdated(ClassSnapshot):
    type = "scheduling.class.updated.v1"


class ClassCancelled(ClassSnapshot):
    type = "scheduling.class.cancelled.v1"
    reason: str | None = None
