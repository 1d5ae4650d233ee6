from studio_platform.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
