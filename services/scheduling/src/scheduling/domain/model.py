"""Class types and class sessions, and the rules for scheduling, changing and cancelling them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from studio_platform.errors import Conflict, Invalid

MAX_CAPACITY = 500
MAX_CLASS_LENGTH = timedelta(hours=12)
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise Invalid(f"{name} must include a time zone offset.", code="naive-datetime", field=name)


@dataclass(frozen=True)
class SeatCount:
    """A class's seats as booking last counted them; `seats_version` rises with every change."""

    organization_id: UUID
    class_id: UUID
    booked: int
    waitlisted: int
    seats_version: int


@dataclass
class ClassType:
    id: UUID
    organization_id: UUID
    name: str
    colour: str
    default_capacity: int
    default_duration_minutes: int
    description: str | None = None
    archived: bool = False

    def __post_init__(self) -> None:
        self.name = self.name.strip()
        if not self.name:
            raise Invalid("A class type needs a name.", code="name-required")
        if not _COLOUR.match(self.colour):
            raise Invalid("Colour must look like #1a2b3c.", code="bad-colour")
        if not 1 <= self.default_capacity <= MAX_CAPACITY:
            raise Invalid(f"Default capacity must be 1 to {MAX_CAPACITY}.", code="bad-capacity")
        if not 5 <= self.default_duration_minutes <= MAX_CLASS_LENGTH.total_seconds() // 60:
            raise Invalid("Default duration must be 5 minutes to 12 hours.", code="bad-duration")

    @classmethod
    def create(cls, *, organization_id: UUID, **fields: object) -> ClassType:
        return cls(id=uuid4(), organization_id=organization_id, **fields)  # type: ignore[arg-type]

    def changed(self, **changes: object) -> ClassType:
        return replace(self, **changes)  # __post_init__ checks the result again


@dataclass
class ClassSession:
    """One scheduled class: a class type taught by an instructor at a studio at a time."""

    id: UUID
    organization_id: UUID
    class_type_id: UUID
    name: str
    studio_id: UUID
    instructor_id: UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    registration_closes_at: datetime
    late_cancel_cutoff: datetime
    registration_opens_at: datetime | None = None
    room: str | None = None
    instructor_notes: str | None = None
    status: str = "scheduled"
    cancel_reason: str | None = None
    version: int = 1
    # Seats as booking last reported them (it owns bookings); shown on browse.
    booked: int = 0
    waitlisted: int = 0
    events: list[str] = field(default_factory=list, compare=False, repr=False)

    def check(self) -> None:
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at", "late_cancel_cutoff"):
            _aware(name, getattr(self, name))
        if self.ends_at <= self.starts_at:
            raise Invalid("A class must end after it starts.", code="ends-before-start")
        if self.ends_at - self.starts_at > MAX_CLASS_LENGTH:
            raise Invalid("A class can last at most 12 hours.", code="class-too-long")
        if not 1 <= self.capacity <= MAX_CAPACITY:
            raise Invalid(f"Capacity must be 1 to {MAX_CAPACITY}.", code="bad-capacity")
        if self.registration_closes_at > self.ends_at:
            raise Invalid("Registration must close before the class ends.", code="bad-registration-window")
        if self.registration_opens_at and self.registration_opens_at >= self.registration_closes_at:
            raise Invalid("Registration must open before it closes.", code="bad-registration-window")
        if self.late_cancel_cutoff > self.starts_at:
            raise Invalid("The late-cancel cutoff must be at or before the start.", code="bad-cancel-cutoff")
        self.name = self.name.strip()
        if not self.name:
            raise Invalid("A class needs a name.", code="name-required")

    @classmethod
    def schedule(
        cls,
        *,
        organization_id: UUID,
        class_type: ClassType,
        studio_id: UUID,
        instructor_id: UUID,
        starts_at: datetime,
        now: datetime,
        default_late_cancel: timedelta,
        ends_at: datetime | None = None,
        capacity: int | None = None,
        name: str | None = None,
        room: str | None = None,
        registration_opens_at: datetime | None = None,
        registration_closes_at: datetime | None = None,
        late_cancel_cutoff: datetime | None = None,
        instructor_notes: str | None = None,
    ) -> ClassSession:
        """A new class; what staff leave out comes from the class type and the studio's policy."""
        _aware("starts_at", starts_at)
        if class_type.archived:
            raise Invalid("That class type is archived.", code="class-type-archived")
        if starts_at <= now:
            raise Invalid("A class must be scheduled in the future.", code="starts-in-past")
        session = cls(
            id=uuid4(),
            organization_id=organization_id,
            class_type_id=class_type.id,
            name=name or class_type.name,
            studio_id=studio_id,
            instructor_id=instructor_id,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at or starts_at + timedelta(minutes=class_type.default_duration_minutes),
            capacity=capacity or class_type.default_capacity,
            registration_opens_at=registration_opens_at,
            registration_closes_at=registration_closes_at or starts_at,
            late_cancel_cutoff=late_cancel_cutoff or starts_at - default_late_cancel,
            instructor_notes=instructor_notes,
        )
        session.check()
        session.events.append("scheduled")
        return session

    def _ensure_changeable(self, now: datetime) -> None:
        if self.status == "cancelled":
            raise Conflict("The class is cancelled.", code="class-cancelled")
        if self.ends_at <= now:
            raise Conflict("The class is over.", code="class-over")

    def update(self, now: datetime, **changes: object) -> None:
        """Apply staff's changes; moving the start moves the derived windows with it."""
        self._ensure_changeable(now)
        if "starts_at" in changes:
            new_start = changes["starts_at"]
            assert isinstance(new_start, datetime)
            _aware("starts_at", new_start)
            if new_start <= now:
                raise Invalid("A class must be scheduled in the future.", code="starts-in-past")
            shift = new_start - self.starts_at
            changes.setdefault("ends_at", self.ends_at + shift)
            changes.setdefault("registration_closes_at", self.registration_closes_at + shift)
            changes.setdefault("late_cancel_cutoff", self.late_cancel_cutoff + shift)
        for key, value in changes.items():
            setattr(self, key, value)
        self.check()
        self.version += 1
        self.events.append("updated")

    def cancel(self, now: datetime, reason: str | None) -> None:
        self._ensure_changeable(now)
        self.status = "cancelled"
        self.cancel_reason = reason
        self.version += 1
        self.events.append("cancelled")

    @property
    def spots_left(self) -> int:
        return max(0, self.capacity - self.booked)

    def registration_open(self, now: datetime) -> bool:
        opened = self.registration_opens_at is None or self.registration_opens_at <= now
        return self.status == "scheduled" and opened and now < self.registration_closes_at
