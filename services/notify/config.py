"""Notify's settings."""

from pathlib import Path

from dispatch_common.paths import DATA_DIR
from dispatch_common.settings import ServiceSettings, port_field


class NotifySettings(ServiceSettings):
    """Notify reads these from the environment."""

    service_name: str = "notify"
    port: int = port_field("notify", 8005)
    templates_file: Path = DATA_DIR / "notify" / "templates.json"
