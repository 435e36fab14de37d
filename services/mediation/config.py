"""Mediation's settings."""

from dispatch_common.settings import ServiceSettings, port_field


class MediationSettings(ServiceSettings):
    """Mediation reads these from the environment."""

    service_name: str = "mediation"
    port: int = port_field("mediation", 8003)
