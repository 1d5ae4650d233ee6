"""Event contracts shared by every service: what goes over the bus, never how."""

from studio_contracts.base import Event, EventMeta, STREAMS, stream_for_subject
from studio_contracts.registry import EVENT_TYPES, event_class

__all__ = ["Event", "EventMeta", "STREAMS", "stream_for_subject", "EVENT_TYPES", "event_class"]
