"""Incidents (同一事项) on the case files: a case routing linked to an earlier case's incident is
attached to that lead case, not assigned; the lead's answer and closure are carried to it (pure).

An attached file has `status` "attached", no lead unit (so no unit's worklist line) and
`incident_lead` the lead case's id; the lead's worklist line counts its attached calls. A later route
without an incident (a dispatcher detached it, or placed it anew) assigns it like any other case.
"""

from datetime import datetime
from typing import Any

from services.supervision.domain.events import CaseRoutedView

ATTACHED = "attached"


def attach(doc: dict[str, Any], data: CaseRoutedView, now: datetime) -> dict[str, Any] | None:
    """The changes that attach a routed case to its incident's lead case; None when the route names
    no incident, or names the case itself."""
    link = data.incident
    if not link or link.get("lead_case_id") in (None, data.case_id):
        return None
    return {
        "status": ATTACHED,
        "incident": link,
        "incident_lead": link["lead_case_id"],
        "attached_at": now,
        "lead_unit": None,
        "assisting_units": [],
        "suggested_lead_unit": data.lead_unit.model_dump() if data.lead_unit else None,
    }


def detached(doc: dict[str, Any]) -> dict[str, Any]:
    """A route without an incident takes a case off the incident it was attached to."""
    if not doc.get("incident_lead"):
        return {}
    return {"incident": None, "incident_lead": None, "detached_from": doc.get("incident")}


def follow(attached: dict[str, Any], step: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The changes the lead case's reply (`replied`) or closure (`closed`) makes to one attached case;
    None when it has taken this step already, or no longer follows the lead (detached)."""
    if not attached.get("incident_lead"):
        return None
    status = attached.get("status")
    if (step == "replied" and status != ATTACHED) or (step == "closed" and status == "closed"):
        return None
    changes: dict[str, Any] = {
        "status": step,
        f"{step}_at": record["at"],
        "actions": [*attached.get("actions", []), record],
    }
    if step == "replied":
        changes["reply"] = record.get("reply")
    return changes
