"""Every published event type, for decoding and for the generated catalogue."""

from __future__ import annotations

from studio_contracts import identity, scheduling
from studio_contracts.base import Event

EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        identity.OrganizationCreated,
        identity.StudioCreated,
        identity.StudioUpdated,
        identity.MemberJoined,
        identity.InvitationCreated,
        scheduling.ClassTypeCreated,
        scheduling.ClassTypeUpdated,
        scheduling.ClassScheduled,
        scheduling.ClassUpdated,
        scheduling.ClassCancelled,
    )
}


def event_class(type_: str) -> type[Event] | None:
    return EVENT_TYPES.get(type_)
