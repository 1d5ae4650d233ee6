"""What booking reads off the bus: classes from scheduling."""

from studio_contracts import scheduling
from studio_platform.bus import Subscription

from booking import handlers

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
