"""Intake's settings."""

from pathlib import Path

from pydantic import Field, field_validator

from dispatch_common.auth import Role
from dispatch_common.paths import DATA_DIR
from dispatch_common.ratelimit import RateLimit
from dispatch_common.settings import ServiceSettings, port_field
from dispatch_common.systems import DEFAULT_SYSTEMS_FILE

RATE_CLASSES = ("submit", "read")
"""Submitting a case (POST /v1/cases, Open311 POST requests.json), and every other call of intake."""
OPEN311_ROLE = "open311"
"""The role a limit names for Open311 apps (`submit:open311`), which have keys, not tokens."""


class IntakeSettings(ServiceSettings):
    """Intake reads these from the environment."""

    service_name: str = "intake"
    port: int = port_field("intake", 8001)
    max_body_bytes: int = 256 * 1024
    # candidate screening rules sent to POST /v1/admin/screening-replays (a county's knowledge base grows)
    replay_max_body_bytes: int = 32 * 1024 * 1024
    screening_rules_file: Path = DATA_DIR / "intake" / "screening_rules.json"
    knowledge_base_file: Path = DATA_DIR / "intake" / "knowledge_base.json"
    duplicates_policy_file: Path = DATA_DIR / "intake" / "duplicates.json"
    # Who may open a petitioner profile (信访人画像), and what the data pool takes (docs/profile.md).
    profile_policy_file: Path = DATA_DIR / "policy" / "profile.json"
    # Open311 GeoReport v2: the clients (names and key hashes; outside production generated once into
    # the keys folder when unset), the service catalogue, and the channel 311 requests come in as.
    open311_clients_file: Path | None = None
    open311_services_file: Path = DATA_DIR / "intake" / "open311_services.json"
    open311_channel: str = "hotline_12345"  # 311 apps may submit anonymously, as the hotline does
    # The external systems that submit over NATS (each on its own ingress stream, answered on its own
    # outcome stream); the NATS server's users come from the same file (devtools/nats_auth.py).
    ingress_systems_file: Path = DEFAULT_SYSTEMS_FILE
    # Per-client rate limits, counted in intake's MongoDB so that they hold across replicas: per class
    # of request, and optionally per role ("submit:external_system", "read:open311").
    rate_limit_enabled: bool = True
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=lambda: {
            "submit": RateLimit(requests=120, window_seconds=60, burst=20),
            "read": RateLimit(requests=600, window_seconds=60, burst=50),
        }
    )

    @field_validator("rate_limits")
    @classmethod
    def _known_classes_and_roles(cls, limits: dict[str, RateLimit]) -> dict[str, RateLimit]:
        roles = {r.value for r in Role} | {OPEN311_ROLE}
        for key in limits:
            kind, _, role = key.partition(":")
            if kind not in RATE_CLASSES or (role and role not in roles):
                raise ValueError(f"{key!r}: a class ({', '.join(RATE_CLASSES)}), optionally ':<role>'")
        missing = [kind for kind in RATE_CLASSES if kind not in limits]
        if missing:
            raise ValueError(f"no limit for {', '.join(missing)}")
        return limits
