"""The outcome feed: what the system that submitted a case hears of it, from receipt to closing.

Intake owns who submitted each case (the NATS system, the system an HTTP caller's external_ref
names, the Open311 client), so it is the one service that can address the feed; it learns the
later facts from supervision's events (services/intake/lifecycle.py). Each fact becomes one
CloudEvent of type `outcome.case.<event>` on `outcome.<feed>.case.<event>`, stored in the case's
outbox with the change it reports, its id derived from its cause so that a repeat is the same event.

What the feed says is what the system may know: the case's identity and status, the units and time
limits, and the texts the petitioner is told (answer, progress, reasons) with phone and ID numbers
masked. No name, phone, address or coordinate goes into it, and no staff member's identity.
"""

from datetime import datetime
from typing import Any

from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.envelope import Addressed, derived_event_id, make_event
from dispatch_common.free_text import default_detector

SOURCE = "/dispatch/intake"
REFUSALS = frozenset({"not_accepted", "legal_redirect", "transferred", "emergency_transfer", "answered"})


def masked(text: str | None) -> str | None:
    """A text as the feed may carry it: phone and ID numbers masked."""
    return default_detector().mask(text) if text else text


def unit_ref(unit: dict[str, Any] | None) -> dict[str, str] | None:
    """A unit as the feed names it: code and name."""
    return {"code": unit["code"], "name": unit["name"]} if unit else None


def outcome(
    feed: str, event_type: str, case: dict[str, Any], data: dict[str, Any], *, at: datetime, cause: str
) -> Addressed:
    """One event of a case's feed, addressed to the feed's subject; the same cause gives the same id."""
    body = {
        "case_id": case["_id"],
        "case_no": case["case_no"],
        "external_ref": case.get("external_ref"),
        "at": at,
        **data,
    }
    event = make_event(
        type=event_type,
        source=SOURCE,
        subject=case["_id"],
        clock=FixedClock(at),
        event_id=derived_event_id("intake-feed", feed, case["_id"], event_type, cause),
        data=body,
    )
    return Addressed(event, subjects.outcome_subject(feed, event_type))


def received(case: dict[str, Any], *, feed: str, submission_id: str | None, at: datetime) -> Addressed:
    """The receipt: the case is registered (for a NATS submission, the answer to it)."""
    data = {"status": case["status"], "submission_id": submission_id}
    return outcome(feed, subjects.OUTCOME_RECEIVED, case, data, at=at, cause=submission_id or "registered")


def screened(
    case: dict[str, Any], screening: dict[str, Any], *, feed: str, by: str, at: datetime, cause: str
) -> list[Addressed]:
    """Accepted for handling, or refused with the reason; nothing while a person has yet to screen."""
    result = screening["outcome"]
    if result == "accepted":
        data = {"status": case["status"], "screened_by": by}
        return [outcome(feed, subjects.OUTCOME_ACCEPTED, case, data, at=at, cause=cause)]
    if result not in REFUSALS:
        return []
    data = {
        "status": case["status"],
        "outcome": result,
        "reason": masked(screening.get("reason")) or "",
        "transfer_to": screening.get("transfer_to"),
        "answer": masked(screening.get("answer")),
        "screened_by": by,
    }
    return [outcome(feed, subjects.OUTCOME_REFUSED, case, data, at=at, cause=cause)]


def handling_due(deadlines: list[dict[str, Any]]) -> str | None:
    """The handling time limit among an event's deadlines."""
    return next((d["due_at"] for d in deadlines if d.get("kind") == "handling"), None)


def from_lifecycle(
    case: dict[str, Any], event_type: str, data: dict[str, Any], *, feed: str, at: datetime, cause: str
) -> list[Addressed]:
    """The feed events one of supervision's events makes (none for what the feed does not tell:
    a request for assistance, an extension asked for or refused)."""
    status = data.get("status") or "assigned"
    owed: list[tuple[str, dict[str, Any]]] = []
    if event_type == subjects.CASE_ASSIGNED:
        owed.append(
            (
                subjects.OUTCOME_ASSIGNED,
                {
                    "lead_unit": unit_ref(data["lead_unit"]),
                    "assisting_units": [unit_ref(u) for u in data.get("assisting_units") or []],
                    "due_at": handling_due(data.get("deadlines") or []),
                },
            )
        )
    elif event_type == subjects.CASE_PROGRESSED and data.get("action") == "progress" and data.get("public"):
        # the feed tells what the petitioner is told: an internal note (no `public: true`) stays with staff
        owed.append((subjects.OUTCOME_PROGRESSED, {"note": masked(data.get("note"))}))
    elif event_type == subjects.CASE_EXTENDED and data.get("approved"):
        owed.append(
            (
                subjects.OUTCOME_EXTENDED,
                {
                    "days": data["days"],
                    "due_at": data.get("handling_due_at"),
                    "note": (case.get("lifecycle") or {}).get("extension_reason") or masked(data.get("note")),
                },
            )
        )
    elif event_type == subjects.CASE_REPLIED:
        held = case.get("assignment") or {}
        unit = held.get("lead_unit") or (
            {"code": held["lead_unit_code"], "name": held["lead_unit_name"]}
            if held.get("lead_unit_code")
            else None
        )
        owed.append(
            (
                subjects.OUTCOME_REPLIED,
                {"result": data["result"], "text": masked(data.get("note")), "unit": unit},
            )
        )
    elif event_type in (subjects.CASE_FOLLOWED_UP, subjects.CASE_REOPENED):
        owed.append((subjects.OUTCOME_RATED, {"rating": data["rating"]}))
        if event_type == subjects.CASE_REOPENED:
            owed.append((subjects.OUTCOME_REOPENED, {"due_at": data.get("handling_due_at")}))
    elif event_type == subjects.CASE_CLOSED:
        owed.append((subjects.OUTCOME_CLOSED, {}))
    return [outcome(feed, kind, case, {"status": status, **body}, at=at, cause=cause) for kind, body in owed]
