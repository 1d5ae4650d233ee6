"""The base of every event contract.

An event type is versioned (`scheduling.class.scheduled.v1`); its NATS subject is
the type without the version, so v1 and v2 of an event share a subject while
consumers move, and they tell them apart by the CloudEvents `type`.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """One fact that happened in a service. Data only; evolve by adding optional fields."""

    # Producers may add optional fields later: consumers ignore what they don't know.
    model_config = ConfigDict(extra="ignore", frozen=True)

    type: ClassVar[str]
    # Consumers record each event id in their inbox and drop repeats. Types whose handlers are idempotent
    # without it opt out: a repeating schedule's ticks (they all carry one id) and snapshots applied only
    # when newer by version (an inbox row per snapshot would be work for nothing).
    inbox: ClassVar[bool] = True
    organization_id: UUID

    @classmethod
    def subject(cls) -> str:
        return cls.type.rsplit(".", 1)[0]

    @classmethod
    def type_version(cls) -> int:
        return int(cls.type.rsplit(".v", 1)[1])


SYSTEM_ORGANIZATION = UUID(int=0)  # for the platform's own events, which belong to no tenant


class EventMeta(BaseModel):
    """The CloudEvents context attributes of a received event."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    type: str
    source: str
    subject: str | None = None
    time: str
    traceparent: str | None = None


# Each service publishes to one stream that captures its own subjects.
STREAMS: dict[str, str] = {
    "IDENTITY": "identity.>",
    "SCHEDULING": "scheduling.>",
    "BOOKING": "booking.>",
    "BILLING": "billing.>",
    "ENGAGEMENT": "engagement.>",
    "NOTIFICATIONS": "notifications.>",
    "REPORTING": "reporting.>",
}


def stream_for_subject(subject: str) -> str:
    prefix = subject.split(".", 1)[0] + ".>"
    for name, pattern in STREAMS.items():
        if pattern == prefix:
            return name
    raise KeyError(f"no stream captures {subject!r}")
