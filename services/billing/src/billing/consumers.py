"""What billing reads off the bus: booking's credit commands and its own periodic tick, all on BILLING."""

from datetime import timedelta
from functools import partial

from billing.config import BillingSettings
from billing.handlers import saga, tick
from studio_contracts import billing
from studio_platform.bus import Batch, Subscription


def subscriptions(settings: BillingSettings) -> list[Subscription]:
    return [
        Subscription(
            stream="BILLING",
            handlers={
                billing.ReserveCredit: Batch(saga.reserve_credits),
                billing.ReleaseCredit: saga.release_credit,
                billing.RefundCredit: saga.refund_credit,
                billing.ConsumeCredit: saga.consume_credit,
                billing.BillingTick: partial(tick.run_tick,
                                             allowance_lead=timedelta(days=settings.allowance_lead_days)),
            },
        ),
    ]
