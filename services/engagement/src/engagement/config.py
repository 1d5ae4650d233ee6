from studio_platform.settings import ServiceSettings


class EngagementSettings(ServiceSettings):
    service_name: str = "engagement"
