"""Supervision's settings."""

from pathlib import Path

from pydantic import Field

from dispatch_common.paths import DATA_DIR
from dispatch_common.settings import ServiceSettings, port_field


class SupervisionSettings(ServiceSettings):
    """Supervision reads these from the environment."""

    service_name: str = "supervision"
    port: int = port_field("supervision", 8004)
    warning_policy_file: Path = DATA_DIR / "policy" / "warnings.json"
    deadline_scan_seconds: float = Field(30.0, gt=0)  # how often the deadline scanner looks
