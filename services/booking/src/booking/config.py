from studio_platform.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    service_name: str = "booking"
    # How long a booking request waits for billing's answer before replying 202 (pending).
    sync_wait_seconds: float = 2.5
    # Booking attempts one process runs at once; more wait their turn (see handlers.requests.book).
    booking_attempts_at_once: int = 16
    # A saga with no answer from billing by then fails and is compensated, on the first tick after it.
    saga_timeout_seconds: int = 30
    # How often booking looks for sagas past their deadline: a JetStream schedule spec.
    tick_every: str = "@every 1s"
    # Studio policy defaults, used until a studio sets its own.
    late_cancel_policy: str = "forfeit"
    late_cancel_fee_minor: int = 0
    currency: str = "GBP"
    waitlist_limit: int = 20
    promotion_cutoff_minutes: int = 30
