"""Incidents (同一事项, 并案): calls about one matter at one resolved place, linked so it is acted on once.

Routing links them, not intake: only routing knows the place a case resolves to (the grid, or the
village, of the gazetteer entry or the point), and a hundred callers at one estate write a hundred
different addresses for it (docs/decisions/0042). A routed case joins an incident when an earlier case,
routed within `window_hours` before it, resolved to the same place and reads alike (similarity of
dispatch_common/similarity.py at least `similarity`). It joins the incident of the most similar such
case; the incident's id is the case_id of its first case, its *lead case*, whose lead unit handles it.

Pure: the adapter (services/routing/adapters/incidents.py) finds the candidates by place and time.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paths import DATA_DIR
from dispatch_common.similarity import Fingerprint, similarity
from services.routing.domain.models import Jurisdiction

DEFAULT_POLICY_PATH = DATA_DIR / "policy" / "incidents.json"


class IncidentPolicy(BaseModel):
    """The window, threshold and bounds of linking, from data/policy/incidents.json."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: int = 1
    enabled: bool = True  # false: every case is routed on its own
    window_hours: float = Field(48, gt=0)
    similarity: float = Field(0.2, ge=0, le=1)
    place_levels: tuple[str, ...] = ("grid", "village")
    max_candidates: int = Field(200, ge=1)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    @classmethod
    def load(cls, path: Path = DEFAULT_POLICY_PATH) -> "IncidentPolicy":
        """Read and validate the policy file."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


def place_of(jurisdiction: Jurisdiction, policy: IncidentPolicy) -> tuple[str, str] | None:
    """The resolved place incidents are linked by: (level, area code), the most specific level the
    policy names that the route has; None for a case placed only in a town, or nowhere (or when
    linking is off)."""
    if not policy.enabled:
        return None
    for level in policy.place_levels:
        code = getattr(jurisdiction, level, None)
        if code:
            return level, code
    return None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An earlier routed case at the same place, as the adapter read it."""

    case_id: str
    case_no: str
    incident_id: str
    routed_at: datetime
    fingerprint: Fingerprint


class IncidentLink(BaseModel):
    """The incident a routed case joined, and why: which place, which case, how alike."""

    model_config = ConfigDict(frozen=True)

    incident_id: str  # the case_id of the incident's first (lead) case
    lead_case_id: str
    lead_case_no: str
    place: str  # the area code of the resolved place
    place_level: str
    place_name: str | None = None
    matched_case_id: str
    matched_case_no: str
    similarity: float = Field(ge=0, le=1)
    reason: str

    def to_document(self) -> dict[str, Any]:
        """Plain JSON, as stored on the route and carried by the event."""
        return self.model_dump(mode="json")


def decide_incident(
    *,
    place: tuple[str, str],
    place_name: str | None,
    at: datetime,
    text: Fingerprint,
    candidates: list[Candidate],
    lead_case_nos: dict[str, str],
    policy: IncidentPolicy,
) -> IncidentLink | None:
    """The incident a case routed at `at` to `place` joins, or None: the most similar earlier case at
    the place within the window, if similar enough (ties: the most recent)."""
    scored = [
        (similarity(text, c.fingerprint), c)
        for c in candidates
        if timedelta(0) <= at - c.routed_at <= policy.window
    ]
    scored = [(s, c) for s, c in scored if s >= policy.similarity]
    if not scored:
        return None
    score, best = max(scored, key=lambda sc: (sc[0], sc[1].routed_at))
    level, code = place
    hours = (at - best.routed_at).total_seconds() / 3600
    lead_no = lead_case_nos.get(best.incident_id, best.case_no)
    return IncidentLink(
        incident_id=best.incident_id,
        lead_case_id=best.incident_id,
        lead_case_no=lead_no,
        place=code,
        place_level=level,
        place_name=place_name,
        matched_case_id=best.case_id,
        matched_case_no=best.case_no,
        similarity=round(score, 4),
        reason=(
            f"same {level} {place_name or code} ({code}) as {best.case_no}, routed {hours:.1f} h earlier "
            f"(window {policy.window_hours:g} h); text similarity {score:.2f} >= {policy.similarity:.2f}"
        ),
    )
