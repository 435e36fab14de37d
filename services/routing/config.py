"""Routing's settings."""

from dispatch_common.settings import ServiceSettings, port_field


class RoutingSettings(ServiceSettings):
    """Routing reads these from the environment; the county package comes from COUNTY_DIR."""

    service_name: str = "routing"
    port: int = port_field("routing", 8002)
