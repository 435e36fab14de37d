"""What each case event changes on a case file: pure functions of the file and the event.

Each step returns the changes (top-level fields) and the events the change owes, or None when the
event changes nothing (applied before, or overtaken by a later stage). Steps do not rely on the
order events arrive in: opening a file and recording a route commute, a route older than the one on
file is ignored, and a screening never undoes a later stage. So the consumer may apply several events
of one case in one write, and replicas may take a case's events in any order.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.contracts import SCREENING_STATUS
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision.domain import incidents
from services.supervision.domain.events import (
    CaseAssigned,
    CaseReceivedView,
    CaseRoutedView,
    CaseScreenedView,
    Deadline,
)
from services.supervision.domain.lifecycle import ANSWERED, HANDLING
from services.supervision.domain.policy import Timekeeper

SOURCE = "/dispatch/supervision"
# A later stage (routing, assignment) is never undone by a screening outcome.
BEFORE_ROUTING = frozenset({"registered", "screening"})


@dataclass
class Step:
    """A change to a case file and the events it owes."""

    changes: dict[str, Any]
    events: list[Envelope] = field(default_factory=list)


def new_case_file(
    case_id: str, case_no: str, received_at: datetime | None, channel: str | None
) -> dict[str, Any]:
    """A registered case's file (deadlines are added when it is saved)."""
    return {
        "_id": case_id,
        "case_no": case_no,
        "status": "registered",
        "channel": channel,
        "received_at": received_at,
        "deadlines": [],
        "alarms_fired": [],
        "next_alarm_ts": None,
        "confidential": False,
    }


def _confidential(doc: dict[str, Any], said: bool) -> dict[str, bool]:
    """A case is confidential once any event says so (in whatever order they come); nothing lifts it."""
    return {"confidential": bool(doc.get("confidential")) or said}


def received(doc: dict[str, Any], data: CaseReceivedView) -> Step | None:
    """A registered case's file counts its deadlines from registration."""
    changes: dict[str, Any] = {}
    if doc.get("received_at") is None:
        changes |= {"received_at": data.received_at, "channel": data.channel}
    if data.confidential and not doc.get("confidential"):
        changes |= _confidential(doc, data.confidential)
    changes |= _text(doc, data.text, data.withheld)
    return Step(changes) if changes else None


def _text(doc: dict[str, Any], text: str | None, withheld: bool) -> dict[str, Any]:
    """The case's masked text, kept for the staff search once intake shows it (never withheld)."""
    return {"search_text": text} if text and not withheld and not doc.get("search_text") else {}


def screened(doc: dict[str, Any], data: CaseScreenedView, *, at: datetime) -> Step:
    """Intake's screening outcome; a decided outcome meets the acceptance notice."""
    changes: dict[str, Any] = {
        "screening": data.model_dump(include={"outcome", "reason", "nature"}),
        **_confidential(doc, data.confidential),
        "channel": doc.get("channel") or data.channel,
        "repeat": bool((data.links or {}).get("repeat_of")),
    }
    if doc.get("received_at") is None:
        changes["received_at"] = data.received_at
    changes |= _text(doc, data.text, data.withheld)
    if data.outcome != "manual" and doc.get("screened_at") is None:
        changes["screened_at"] = at
    if doc["status"] in BEFORE_ROUTING:
        changes["status"] = SCREENING_STATUS.get(data.outcome, doc["status"])
    return Step(changes)


def routed(
    doc: dict[str, Any],
    event: Envelope,
    data: CaseRoutedView,
    *,
    now: datetime,
    keeper: Timekeeper,
    consumer: str,
) -> Step | None:
    """Routing's decision; a case with a lead unit is assigned to it, with its deadlines.

    A new route (dispatch.case.rerouted) assigns the case again: the new lead signs again, and the
    limits counted from the assignment restart (the unit that returned it does not keep them). A
    case answered already (replied, followed up, closed, under review) is not handed out again: the
    route is recorded as `late_route`, and people decide (reopen, review).
    """
    if doc.get("routed_event_id") == event.id or data.revision < doc.get("route_revision", 0):
        return None  # applied before, or a newer route was applied already
    if doc["status"] in ANSWERED:
        late = {"revision": data.revision, "queue": data.queue, "at": now}
        late["lead_unit"] = data.lead_unit.model_dump() if data.lead_unit else None
        late_changes = {"routed_event_id": event.id, "route_revision": data.revision, "late_route": late}
        return Step(late_changes | _confidential(doc, data.confidential))
    changes: dict[str, Any] = {
        **_confidential(doc, data.confidential),
        "routed_event_id": event.id,
        "route_revision": data.revision,
        "jurisdiction": data.jurisdiction,
        "category": data.category,
        "flags": data.flags,
        "tier": data.tier,
        "queue": data.queue,
        "lead_unit": None,
        "assisting_units": [],
        "manual_reason": data.manual_reason,
        # Routing's proposal stays visible to the dispatcher who places a manual case.
        "suggested_lead_unit": data.lead_unit.model_dump() if data.lead_unit else None,
        **incidents.detached(doc),
    }
    attach = incidents.attach(doc, data, now)
    if attach is not None:  # one of an incident's later calls: handled through its lead case
        return Step(changes | attach)
    if data.queue != "auto" or data.lead_unit is None:
        changes["status"] = "manual_dispatch"
        return Step(changes)
    changes |= {
        "lead_unit": data.lead_unit.model_dump(),
        "assisting_units": [u.model_dump() for u in data.assisting_units],
        "status": "assigned",
        "assigned_at": now,
        "signed_at": None,
        "overdue_kinds": [],
    }
    if doc.get("first_assigned_at") is None:
        changes["first_assigned_at"] = now
    deadlines = keeper.refresh(doc | changes)["deadlines"]
    assigned = make_event(
        type=subjects.CASE_ASSIGNED,
        source=SOURCE,
        subject=data.case_id,
        clock=FixedClock(now),
        event_id=derived_event_id(consumer, event.id, subjects.CASE_ASSIGNED),
        data=CaseAssigned(
            case_id=data.case_id,
            case_no=data.case_no,
            lead_unit=data.lead_unit,
            assisting_units=data.assisting_units,
            deadlines=[Deadline.model_validate(d) for d in deadlines],
            assigned_at=now,
            place={"town": data.jurisdiction.get("town"), "village": data.jurisdiction.get("village")},
        ),
    )
    return Step(changes, [assigned])


def disputed(doc: dict[str, Any], reason: str, revision: int, at: datetime | None = None) -> Step | None:
    """A disputed route (争议管辖): the case waits for the joint conference; the unit that has it keeps
    it on its list until the conference decides. A dispute older than the route on file is ignored,
    and an answered case reopens nothing (the dispute is on the timeline)."""
    if revision < doc.get("route_revision", 0) or doc["status"] in ANSWERED:
        return None
    if doc["status"] == "route_disputed" and doc.get("dispute_reason") == reason:
        return None  # applied before: the dispute keeps its first moment
    return Step({"status": "route_disputed", "dispute_reason": reason, "disputed_at": at})


def mediation(doc: dict[str, Any], event_type: str, data: dict[str, Any], *, at: datetime) -> Step | None:
    """A mediation of the case opened or concluded: a case being handled is `in_mediation` meanwhile,
    and the mediation's time limit is on the case file until it concludes."""
    mediation_id = data["mediation_id"]
    others = [d for d in doc.get("external_deadlines") or [] if d.get("source_id") != mediation_id]
    mine = next((d for d in doc.get("external_deadlines") or [] if d.get("source_id") == mediation_id), None)
    if event_type == subjects.MEDIATION_OPENED:
        if mine is not None:
            return None  # applied before
        deadline = data.get("deadline")
        if deadline:
            others.append(
                {
                    "kind": deadline["kind"],
                    "label": deadline["label"],
                    "start_at": at,
                    "due_at": datetime.fromisoformat(deadline["due_at"]),
                    "met_at": None,
                    "extended_days": 0,
                    "response_tier": None,
                    "alarm": True,
                    "escalate": False,
                    "basis": deadline["basis"],
                    "source_id": mediation_id,
                }
            )
        changes: dict[str, Any] = {
            "external_deadlines": others,
            "mediation": {"mediation_id": mediation_id, "organization": data.get("organization")},
        }
        # a case being handled waits for the mediation; one not yet signed for keeps its state, so
        # the unit still signs (a routed dispute opens its mediation at once)
        if doc["status"] in HANDLING and doc["status"] != "in_mediation":
            changes |= {"status": "in_mediation", "status_before_mediation": doc["status"]}
        return Step(changes)
    on_file = doc.get("mediation") or {}
    known = on_file.get("mediation_id") == mediation_id
    if (mine is None and not known) or (mine or {}).get("met_at") or (known and "result" in on_file):
        return None  # not a mediation of this file, or concluded before
    # the outcome counts in the figures: an agreement (调解协议) resolves the dispute (化解率)
    outcome = {"mediation_id": mediation_id, "result": data.get("result"), "concluded_at": at}
    changes = {"mediation": {**on_file, **outcome}}
    if mine is not None:
        changes["external_deadlines"] = [*others, {**mine, "met_at": at}]
    if doc["status"] == "in_mediation":
        changes["status"] = doc.get("status_before_mediation") or "in_progress"
    return Step(changes)
