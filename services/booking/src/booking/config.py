from studio_platform.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    service_name: str = "booking"
