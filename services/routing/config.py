"""Routing's settings."""

from dispatch_common.settings import ServiceSettings, port_field


class RoutingSettings(ServiceSettings):
    """Routing reads these from the environment; the county package comes from COUNTY_DIR."""

    service_name: str = "routing"
    port: int = port_field("routing", 8002)
    # a candidate county package sent to POST /v1/admin/replays (every other body: 256 KiB)
    replay_max_body_bytes: int = 32 * 1024 * 1024
