from studio_platform.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    # How often the periodic work (expiry, weekly allowances) runs: a JetStream schedule spec.
    tick_every: str = "@every 1m"
    # A membership week's credits are granted this long before the week starts, so clients
    # can book next week's classes before it begins.
    allowance_lead_days: int = 7
