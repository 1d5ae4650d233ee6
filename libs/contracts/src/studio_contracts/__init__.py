"""Event contracts shared by every service: what goes over the bus, never how."""

from studio_contracts.base import STREAMS, SYSTEM_ORGANIZATION, Event, EventMeta, stream_for_subject
from studio_contracts.registry import EVENT_TYPES, event_class

__all__ = ["EVENT_TYPES", "STREAMS", "SYSTEM_ORGANIZATION", "Event", "EventMeta", "event_class",
           "stream_for_subject"]
