"""What booking reads off the bus: classes from scheduling, billing's answers, its own ticks (saga deadlines), names."""

from booking.handlers import classes, saga
from studio_contracts import billing, identity, scheduling
from studio_contracts import booking as events
from studio_platform.bus import Batch, Subscription

SUBSCRIPTIONS = [
    Subscription(stream="SCHEDULING", handlers={
        scheduling.ClassScheduled: classes.remember_class,
        scheduling.ClassUpdated: classes.remember_class,
        scheduling.ClassCancelled: classes.remember_class,
    }),
    Subscription(stream="BILLING", handlers={
        billing.CreditReserved: Batch(saga.on_credits_reserved),
        billing.CreditRejected: saga.on_credit_rejected,
    }),
    Subscription(stream="BOOKING", handlers={events.BookingTick: saga.on_tick}),
    Subscription(stream="IDENTITY", handlers={identity.MemberJoined: classes.remember_member}),
]
