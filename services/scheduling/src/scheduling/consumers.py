"""What scheduling reads off the bus: studios and staff from identity."""

from scheduling import handlers
from studio_contracts import booking, identity
from studio_platform.bus import Batch, Subscription

SUBSCRIPTIONS = [
    Subscription(
        stream="IDENTITY",
        handlers={
            identity.StudioCreated: handlers.remember_studio,
            identity.StudioUpdated: handlers.remember_studio,
            identity.MemberJoined: handlers.remember_member,
        },
    ),
    Subscription(stream="BOOKING", handlers={booking.ClassAvailabilityChanged: Batch(handlers.record_seats)}),
]
