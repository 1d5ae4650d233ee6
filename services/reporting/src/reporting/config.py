from studio_platform.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
