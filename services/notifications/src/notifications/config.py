from studio_platform.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
