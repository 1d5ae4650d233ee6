"""Scheduling's copies of studios and staff, kept from the gateway's identity events."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from studio_platform.errors import Invalid

TEACHING_ROLES = frozenset({"owner", "manager", "instructor"})


@dataclass(frozen=True)
class Studio:
    id: UUID
    organization_id: UUID
    name: str
    time_zone: str


@dataclass(frozen=True)
class Member:
    user_id: UUID
    organization_id: UUID
    name: str
    role: str
    studio_ids: frozenset[UUID]

    def ensure_can_teach_at(self, studio_id: UUID) -> None:
        if self.role not in TEACHING_ROLES:
            raise Invalid(f"{self.name} is not on the teaching staff.", code="not-an-instructor")
        if self.role == "instructor" and self.studio_ids and studio_id not in self.studio_ids:
            raise Invalid(f"{self.name} does not teach at that studio.", code="not-at-studio")
