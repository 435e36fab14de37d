"""Supervision's settings."""

from pathlib import Path

from pydantic import Field

from dispatch_common.paths import DATA_DIR
from dispatch_common.ratelimit import RateLimit
from dispatch_common.settings import ServiceSettings, port_field


class SupervisionSettings(ServiceSettings):
    """Supervision reads these from the environment."""

    service_name: str = "supervision"
    port: int = port_field("supervision", 8004)
    warning_policy_file: Path = DATA_DIR / "policy" / "warnings.json"
    ledger_policy_file: Path = DATA_DIR / "policy" / "ledger.json"  # the risk ledger's table (docs/ledger.md)
    # How long a represented case may stay at an agent's tier (三级代办, docs/agents.md)
    agent_tier_policy_file: Path = DATA_DIR / "policy" / "agent_tiers.json"
    agents_file: Path | None = None  # the agents to seed the directory from; None: the county package's
    deadline_scan_seconds: float = Field(30.0, gt=0)  # how often the deadline scanner looks
    # A case registered but never screened, or accepted but never routed, this long is stuck
    # (services/supervision/stuck.py); looked for this often.
    stuck_after_seconds: float = Field(900.0, gt=0)
    stuck_scan_seconds: float = Field(60.0, gt=0)
    # The daily inspection (网巡) is compiled once the county's clock reaches this hour; replicas look
    # this often whether it is due (services/supervision/inspection.py).
    inspection_hour: int = Field(7, ge=0, le=23)
    inspection_check_seconds: float = Field(300.0, gt=0)
    # The board's live figures (GET /v1/streams/board): recomputed this often while someone watches;
    # a case whose next deadline is this close is "due soon".
    live_board_seconds: float = Field(5.0, gt=0)
    live_due_soon_hours: float = Field(24.0, gt=0)
    # The petitioner's progress lookup (docs/progress.md): lookups counted per client address and per
    # case number, in supervision's MongoDB so that the limits hold across replicas; refused: 429.
    progress_rate_limit_enabled: bool = True
    progress_rate_limits: dict[str, RateLimit] = Field(
        default_factory=lambda: {
            "client": RateLimit(requests=30, window_seconds=600, burst=5),
            "case": RateLimit(requests=20, window_seconds=3600, burst=5),
        }
    )
