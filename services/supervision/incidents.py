"""Acting once on an incident (同一事项): the lead case's reply and closure reach its attached cases.

Supervision's consumer reads the events it emits itself; after a batch is applied, each reply or
closure of a lead case is carried to every case attached to it: the file takes the step, and the
same event is owed for the attached case (`incident` names the lead), so notify tells each caller
the outcome through their own notices. A case attached after its lead was answered takes the answer
when it is attached. Each write is guarded by the file's state and each event has a derived id, so a
redelivery changes nothing.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain import steps
from services.supervision.domain.events import CaseRoutedView
from services.supervision.domain.incidents import ATTACHED, follow
from services.supervision.domain.lifecycle import ANSWERED
from services.supervision.domain.policy import Timekeeper
from services.supervision.domain.reply import reply_document
from services.supervision.handlers import SOURCE, save_file

LEAD_STEPS = {subjects.CASE_REPLIED: "replied", subjects.CASE_CLOSED: "closed"}
EVENT_OF_STEP = {"replied": subjects.CASE_REPLIED, "closed": subjects.CASE_CLOSED}
ACTION_OF_STEP = {"replied": ("reply", "答复办结"), "closed": ("close", "结案")}


async def follow_leads(
    deliveries: Sequence[Delivery], *, files: CaseFiles, keeper: Timekeeper, clock: Clock
) -> int:
    """Carry the batch's lead replies and closures to their attached cases; a case attached to a lead
    answered before it came is handled on its own. How many attached files changed."""
    changed = 0
    for delivery in deliveries:
        event = delivery.event
        if event.type in LEAD_STEPS and not event.data.get("incident"):
            followers = await files.files.find({"incident_lead": event.data["case_id"]}).to_list()
            lead = await files.get(event.data["case_id"]) if followers else None
            for attached in followers if lead is not None else []:
                changed += await _carry(lead, attached, LEAD_STEPS[event.type], files, keeper, clock)
        elif event.type in (subjects.CASE_ROUTED, subjects.CASE_REROUTED) and event.data.get("incident"):
            changed += await _on_own_if_lead_answered(event, files=files, keeper=keeper, clock=clock)
    return changed


async def _on_own_if_lead_answered(
    event: Envelope, *, files: CaseFiles, keeper: Timekeeper, clock: Clock
) -> int:
    """A call linked to an incident whose lead case was answered already (replied, followed up,
    closed, under review) reports the matter again after the answer: it is assigned to the unit on
    its own, as routing named it, rather than closed with an answer given before it came."""
    attached = await files.get(event.data["case_id"])
    if attached is None or attached.get("status") != ATTACHED:
        return 0
    lead = await files.get(attached["incident_lead"])
    if lead is None or lead["status"] not in ANSWERED:
        return 0
    view = CaseRoutedView.model_validate(event.data | {"incident": None})
    step = steps.routed(
        attached | {"routed_event_id": None, "status": "screening"},
        event,
        view,
        now=clock.now(),
        keeper=keeper,
        consumer=subjects.SUPERVISION_CASE_FILE,
    )
    if step is None:
        return 0
    changes = step.changes | {"incident_answered_before": lead["case_no"]}
    try:
        await save_file(files, keeper, attached, changes, step.events)
    except store.VersionConflict:
        return 0  # another replica did it first (the assignment has the same id)
    return 1


async def _carry(
    lead: dict[str, Any],
    attached: dict[str, Any],
    step: str,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock,
) -> int:
    """One lead step on one attached file, with its event; 0 when it was taken before."""
    action, label = ACTION_OF_STEP[step]
    said = next((a for a in reversed(lead.get("actions", [])) if a.get("action") == action), None)
    at = _aware((said or {}).get("at")) or clock.now()
    by = (said or {}).get("by") or {"subject": "supervision", "role": "system", "unit": None}
    note = (said or {}).get("note")
    incident = {"lead_case_id": lead["_id"], "lead_case_no": lead["case_no"]}
    record: dict[str, Any] = {"action": action, "label": label, "by": by, "at": at, "note": note}
    record["incident"] = incident
    reply = lead.get("reply") or {}
    if step == "replied":
        record["reply"] = reply | {
            "document_html": reply_document(
                attached,
                reply.get("result", "explained"),
                reply.get("text") or "",
                lead.get("lead_unit") or {},
                at,
            )
        }
    changes = follow(attached, step, record)
    if changes is None:
        return 0
    data: dict[str, Any] = {
        "case_id": attached["_id"],
        "case_no": attached["case_no"],
        "status": changes["status"],
        "action": action,
        "by": by,
        "at": at,
        "note": note,
        "incident": incident,
    }
    if step == "replied":
        data["result"] = reply.get("result", "explained")
    event = _event(attached, EVENT_OF_STEP[step], data, lead, clock)
    try:
        await save_file(files, keeper, attached, changes, [event])
    except store.VersionConflict:
        return 0  # another replica carried it first (its event has the same id)
    return 1


def _aware(at: datetime | str | None) -> datetime | None:
    """A moment read back from the store, as an aware datetime (UTC when it was stored naive)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _event(
    attached: dict[str, Any], event_type: str, data: dict[str, Any], lead: dict[str, Any], clock: Clock
) -> Envelope:
    return make_event(
        type=event_type,
        source=SOURCE,
        subject=attached["_id"],
        clock=clock,
        event_id=derived_event_id("supervision-incident", attached["_id"], event_type, lead["_id"]),
        data=data,
    )


async def linked_calls(files: CaseFiles, case_ids: list[str]) -> dict[str, int]:
    """How many calls are attached to each of these cases as the lead of an incident."""
    if not case_ids:
        return {}
    counts: dict[str, int] = {}
    async for doc in files.files.find({"incident_lead": {"$in": case_ids}}, {"incident_lead": 1}):
        counts[doc["incident_lead"]] = counts.get(doc["incident_lead"], 0) + 1
    return counts
