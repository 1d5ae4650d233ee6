from studio_platform.settings import ServiceSettings


class SchedulingSettings(ServiceSettings):
    service_name: str = "scheduling"
    # Studio policy defaults applied when staff don't set a class's own.
    default_late_cancel_hours: int = 12
    max_browse_days: int = 62
