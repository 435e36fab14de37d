"""Supervision's container: everything its handlers and entrypoints need, built once per
process by bootstrap.py (which imports the entrypoints; they import this, never bootstrap)."""

from dataclasses import dataclass, field
from typing import Any

from dispatch_common.clock import Clock
from dispatch_common.confidential import Confidentiality
from dispatch_common.live import Hub
from dispatch_common.live_snapshot import Snapshot
from dispatch_common.ratelimit import RateLimiter
from dispatch_common.runtime import Runtime
from services.supervision.adapters.agents import AgentDirectory
from services.supervision.adapters.lookup_codes import LookupCodes
from services.supervision.adapters.reception import Sessions
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.policy import Timekeeper
from services.supervision.inspection import Inspections
from services.supervision.ledger import Ledger
from services.supervision.representation import Representations
from services.supervision.stuck import StuckCases
from services.supervision.warnings import Warnings


@dataclass
class Supervision:
    """Everything supervision's handlers need."""

    runtime: Runtime
    files: CaseFiles
    keeper: Timekeeper
    clock: Clock
    warnings: Warnings
    confidentiality: Confidentiality
    stuck: StuckCases
    inspections: Inspections
    lookup_codes: LookupCodes
    """The verifiers of the petitioners' lookup codes (services/supervision/progress.py)."""
    lookup_key: bytes
    """The key those verifiers are checked with (dispatch_common/lookup_code.py `verifier_key`)."""
    progress_limiter: RateLimiter
    """The public progress lookup's limits per client and per case, shared by the replicas."""
    sessions: Sessions
    """Leaders' reception sessions (services/supervision/reception.py)."""
    scan_seconds: float = 30.0
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The county's unit directory by code (who may be asked to assist)."""
    live: Hub | None = None
    """The replica's reader of case events for the live streams (services/supervision/live.py)."""
    board: Snapshot | None = None
    """The board's figures, recomputed while someone watches (services/supervision/board.py)."""
    agents: AgentDirectory | None = None
    """The proxy agents' directory (三级代办, docs/agents.md)."""
    representations: Representations | None = None
    """Which agent carries which case, and the climb between tiers."""
    ledger: Ledger | None = None
    """The risk ledger (排查台账, services/supervision/ledger.py)."""
