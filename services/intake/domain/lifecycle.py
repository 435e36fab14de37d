"""What intake keeps of a case's life after registration, and the feed events each step owes.

Supervision owns the lifecycle; intake keeps a copy of what its readers need: the lead unit, the
time limit and the place (town and village) from `dispatch.case.assigned` for every case, and, for
the cases someone outside follows (a feed, an Open311 request), the status and when it last
changed, with the ids of the events applied (so a redelivered event changes nothing and owes
nothing new). Pure: the handler (services/intake/lifecycle.py) reads and writes.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatch_common import subjects
from dispatch_common.envelope import Addressed
from dispatch_common.nats_permissions import INTAKE_LIFECYCLE
from services.intake.domain import feed

LIFECYCLE_SUBJECTS = INTAKE_LIFECYCLE
"""The events intake's lifecycle consumer takes (the status an Open311 reader sees, and the feed);
assigned first."""
APPLIED_KEPT = 64  # ids of applied events kept per case: far more than one case's redeliveries reach


@dataclass(frozen=True)
class Step:
    """One of supervision's events about a case, as the lifecycle reads it."""

    event_id: str
    event_type: str
    data: dict[str, Any]
    at: datetime
    sequence: int = 0  # its place in the stream: the later step sets the status


@dataclass
class Advance:
    """What a batch of steps changes on a case, and the feed events it owes."""

    changes: dict[str, Any] = field(default_factory=dict)
    owed: list[Addressed] = field(default_factory=list)


def tracked(case: dict[str, Any]) -> bool:
    """Whether someone outside follows the case: a feed's system, or an Open311 client."""
    return bool(case.get("feed")) or case.get("door") == "open311"


def assignment(data: dict[str, Any], *, noted_at: datetime) -> dict[str, Any]:
    """The lead unit, units, handling limit and place of an assignment (datetimes kept inside this
    sub-document: the embedded server stores one set at the top level as a string, decision 0006)."""
    lead = data["lead_unit"]
    handling = feed.handling_due(data.get("deadlines") or [])
    place = data.get("place") or {}
    return {
        "lead_unit_code": lead["code"],
        "lead_unit_name": lead["name"],
        "lead_unit": feed.unit_ref(lead),
        # the units that may read a confidential report's registration (dispatch_common/auth.may_see)
        "unit_codes": [lead["code"], *(u["code"] for u in data.get("assisting_units") or [])],
        "due_at": datetime.fromisoformat(handling) if handling else None,
        "place": {"town": place.get("town"), "village": place.get("village")},
        "noted_at": noted_at,
    }


def advance(case: dict[str, Any], steps: list[Step], *, now: datetime) -> Advance:
    """Apply a case's steps in stream order: its assignment (the latest one wins), and for a case
    someone outside follows its lifecycle and the feed events it owes; a step applied before is
    skipped, a late one never moves the status back."""
    out = Advance()
    assigned_seq = case.get("assign_seq", -1)
    current = dict(case.get("assignment") or {}) or None
    follows = tracked(case)
    life = dict(case.get("lifecycle") or {"status": None, "at": None, "seq": 0, "applied": []})
    applied = list(life.get("applied") or [])
    for step in sorted(steps, key=lambda s: s.sequence):
        data = step.data
        if step.event_type == subjects.CASE_ASSIGNED and step.sequence > assigned_seq:
            current, assigned_seq = assignment(data, noted_at=now), step.sequence
            out.changes |= {"assignment": current, "assign_seq": assigned_seq}
        if not follows or step.event_id in applied:
            continue
        applied.append(step.event_id)
        if current is not None and data.get("handling_due_at"):  # extended, reopened
            current = {**current, "due_at": datetime.fromisoformat(data["handling_due_at"]), "noted_at": now}
            out.changes["assignment"] = current
        if step.sequence >= (life.get("seq") or 0):
            life |= {"status": data.get("status") or "assigned", "at": step.at, "seq": step.sequence}
        if step.event_type == subjects.CASE_REPLIED:  # the answer, for the submitting Open311 client
            life["reply"] = {"result": data.get("result"), "text": feed.masked(data.get("note"))}
        if step.event_type == subjects.CASE_PROGRESSED and data.get("action") == "extension":
            # the unit's reason, told when the extension is approved (the decision's note is the
            # supervisor's word to the unit, not the reason the case takes longer)
            life["extension_reason"] = feed.masked(data.get("note"))
        if case.get("feed"):
            view = case | {"assignment": current, "lifecycle": life}
            out.owed += feed.from_lifecycle(
                view, step.event_type, data, feed=case["feed"], at=step.at, cause=step.event_id
            )
    if follows and len(applied) > len(life.get("applied") or []):
        out.changes["lifecycle"] = life | {"applied": applied[-APPLIED_KEPT:]}
    return out
