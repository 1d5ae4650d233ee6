"""Booking's own copy of each class: what it needs to take bookings without asking scheduling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class BookableClass:
    id: UUID
    organization_id: UUID
    studio_id: UUID
    instructor_id: UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime
    late_cancel_cutoff: datetime
    status: str
    version: int

    def registration_open(self, now: datetime) -> bool:
        opened = self.registration_opens_at is None or self.registration_opens_at <= now
        return self.status == "scheduled" and opened and now < self.registration_closes_at

    def is_newer_than(self, other: BookableClass | None) -> bool:
        """Events may arrive out of order; only a higher version replaces what we hold."""
        return other is None or self.version > other.version
