"""Intake's settings."""

from dispatch_common.settings import ServiceSettings, port_field


class IntakeSettings(ServiceSettings):
    """Intake reads these from the environment."""

    service_name: str = "intake"
    port: int = port_field("intake", 8001)
    max_body_bytes: int = 256 * 1024
