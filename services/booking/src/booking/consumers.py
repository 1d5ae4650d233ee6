"""What booking reads off the bus: classes from scheduling."""

from booking import handlers
from studio_contracts import scheduling
from studio_platform.bus import Subscription

SUBSCRIPTIONS = [
    Subscription(
        stream="SCHEDULING",
        handlers={
            scheduling.ClassScheduled: handlers.remember_class,
            scheduling.ClassUpdated: handlers.remember_class,
            scheduling.ClassCancelled: handlers.remember_class,
        },
    ),
]
