"""Intake's settings."""

from pathlib import Path

from pydantic import Field

from dispatch_common.paths import DATA_DIR
from dispatch_common.settings import ServiceSettings, port_field
from dispatch_common.systems import DEFAULT_SYSTEMS_FILE


class IntakeSettings(ServiceSettings):
    """Intake reads these from the environment."""

    service_name: str = "intake"
    port: int = port_field("intake", 8001)
    max_body_bytes: int = 256 * 1024
    screening_rules_file: Path = DATA_DIR / "intake" / "screening_rules.json"
    knowledge_base_file: Path = DATA_DIR / "intake" / "knowledge_base.json"
    duplicates_policy_file: Path = DATA_DIR / "intake" / "duplicates.json"
    # Open311 GeoReport v2: API keys of the 311 apps allowed to submit, and the channel they submit as.
    open311_api_keys: list[str] = Field(default_factory=list)
    open311_channel: str = "hotline_12345"  # 311 apps may submit anonymously, as the hotline does
    # The external systems that submit over NATS (each on its own ingress stream, answered on its own
    # outcome stream); the NATS server's users come from the same file (devtools/nats_auth.py).
    ingress_systems_file: Path = DEFAULT_SYSTEMS_FILE
