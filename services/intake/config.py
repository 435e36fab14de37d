"""Intake's settings."""

from pathlib import Path

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
    # Open311 GeoReport v2: the clients (names and key hashes; outside production generated once into
    # the keys folder when unset), the service catalogue, and the channel 311 requests come in as.
    open311_clients_file: Path | None = None
    open311_services_file: Path = DATA_DIR / "intake" / "open311_services.json"
    open311_channel: str = "hotline_12345"  # 311 apps may submit anonymously, as the hotline does
    # The external systems that submit over NATS (each on its own ingress stream, answered on its own
    # outcome stream); the NATS server's users come from the same file (devtools/nats_auth.py).
    ingress_systems_file: Path = DEFAULT_SYSTEMS_FILE
