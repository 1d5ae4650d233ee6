"""What a client may ask when browsing the timetable, checked before it reaches the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from uuid import UUID

from studio_platform.errors import Invalid

TimeOfDay = Literal["morning", "afternoon", "evening"]

# Local wall-clock windows in the studio's own time zone.
TIME_OF_DAY: dict[str, tuple[time, time]] = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(23, 59, 59)),
}


@dataclass(frozen=True)
class BrowseQuery:
    organization_id: UUID
    starts_from: datetime
    starts_before: datetime
    studio_id: UUID | None = None
    instructor_id: UUID | None = None
    class_type_id: UUID | None = None
    local_time_from: time | None = None
    local_time_to: time | None = None
    available_only: bool = False
    include_cancelled: bool = False
    limit: int = 50
    after: tuple[datetime, UUID] | None = None

    @classmethod
    def build(
        cls,
        *,
        organization_id: UUID,
        now: datetime,
        max_days: int,
        starts_from: datetime | None = None,
        starts_before: datetime | None = None,
        time_of_day: TimeOfDay | None = None,
        local_time_from: time | None = None,
        local_time_to: time | None = None,
        **filters: object,
    ) -> BrowseQuery:
        """Defaults to the coming week; a range is at most `max_days` long."""
        for name, value in (("from", starts_from), ("to", starts_before)):
            if value is not None and value.utcoffset() is None:
                raise Invalid(f"'{name}' must include a time zone offset.", code="naive-datetime")
        start = starts_from or now
        end = starts_before or start + timedelta(days=7)
        if end <= start:
            raise Invalid("'to' must be after 'from'.", code="bad-range")
        if end - start > timedelta(days=max_days):
            raise Invalid(f"Browse at most {max_days} days at a time.", code="range-too-long")
        if time_of_day and (local_time_from or local_time_to):
            raise Invalid("Give either time_of_day or a time range, not both.", code="bad-time-filter")
        if time_of_day:
            local_time_from, local_time_to = TIME_OF_DAY[time_of_day]
        if local_time_from and local_time_to and local_time_to <= local_time_from:
            raise Invalid("The time range must end after it starts.", code="bad-time-filter")
        return cls(organization_id=organization_id, starts_from=start, starts_before=end,
                   local_time_from=local_time_from, local_time_to=local_time_to, **filters)  # type: ignore[arg-type]
