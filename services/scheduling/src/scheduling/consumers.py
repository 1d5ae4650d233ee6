"""What scheduling reads off the bus: studios and staff from identity, seat counts from booking."""

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
    # Seat counts are snapshots kept by version and nobody waits on them: gathered for a fifth of a second,
    # a busy studio's are a few big batches (one update per class) rather than one small one per booking.
    Subscription(stream="BOOKING", handlers={booking.ClassAvailabilityChanged: Batch(handlers.record_seats)},
                 gather_seconds=0.2, batch_size=256),
]
