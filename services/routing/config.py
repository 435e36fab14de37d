"""Routing's settings."""

import os
from pathlib import Path

from pydantic import Field

from dispatch_common.paths import DATA_DIR
from dispatch_common.settings import ServiceSettings, port_field


class RoutingSettings(ServiceSettings):
    """Routing reads these from the environment; the county package comes from COUNTY_DIR."""

    service_name: str = "routing"
    port: int = port_field("routing", 8002)
    incident_policy_file: Path = DATA_DIR / "policy" / "incidents.json"
    # a candidate county package sent to POST /v1/admin/replays (every other body: 256 KiB)
    replay_max_body_bytes: int = 32 * 1024 * 1024
    # worker processes a replay decides in (0: in a thread of the service); default: the cores but one
    replay_workers: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 1) - 1), ge=0)
