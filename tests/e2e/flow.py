"""Helpers to drive a case through the running platform."""

import time
from typing import Any

from services.intake.domain.models import COLLECTIVE_VISIT_AT, NAMED_CHANNELS
from tests.e2e.conftest import Api

SETTLED = {"assigned", "manual_dispatch"}
# Where a case ends when screening keeps it from routing (services/intake/handlers.py).
SCREENED_OUT = {"not_accepted", "redirected", "transferred", "answered"}
# What each channel carries besides the request (services/intake/domain/models.py).
CHANNEL_FIELDS = {
    "grid_report": {"grid_worker": {"id": "GW-TEST-1", "name": "网格员"}},
    "police_110": {"police_incident_no": "110-2026-0001"},
    "proactive": {"campaign": "矛盾纠纷排查"},
}


def submission(sample: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The intake body for a labelled sample case."""
    body = {k: sample[k] for k in ("channel", "text", "address", "lon", "lat", "people_count") if k in sample}
    if body["channel"] in NAMED_CHANNELS:  # petitions name their petitioner; the hotline may be anonymous
        body["petitioner"] = {"name": "测试人"}
    body |= CHANNEL_FIELDS.get(body["channel"], {})
    if body["channel"] == "petition_visit":  # a visit counts its people; five or more name representatives
        body.setdefault("people_count", 1)
        if body["people_count"] >= COLLECTIVE_VISIT_AT:
            body["representatives"] = [{"name": "代表甲"}]
    return body | extra


def wait_for(probe, *, timeout: float = 30.0, what: str) -> Any:
    """Poll until probe() returns something truthy (a bound on waiting, not a timing figure)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def settled_case_file(
    api: Api, case_id: str, *, timeout: float = 30.0, statuses: frozenset[str] | set[str] = SETTLED
) -> dict[str, Any]:
    """Wait until supervision has routed the case to a unit or to the manual queue (or `statuses`)."""

    def probe() -> dict[str, Any] | None:
        r = api.get("supervision", f"/v1/cases/{case_id}")
        return r.json() if r.status_code == 200 and r.json()["status"] in statuses else None

    return wait_for(probe, timeout=timeout, what=f"case {case_id} to settle")
