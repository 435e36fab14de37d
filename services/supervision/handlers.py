"""Supervision's event handlers: keep the timeline, open the case file, assign the lead unit."""

from datetime import datetime
from typing import Any

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock
from dispatch_common.contracts import SCREENING_STATUS
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from dispatch_common.store import retry_on_conflict
from services.supervision.adapters.repository import OPEN_STATES, CaseFiles
from services.supervision.domain import kpis
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
# What the timeline keeps of each event: enough to read the journey, never personal data.
SUMMARY_KEYS = (
    "case_no",
    "channel",
    "queue",
    "tier",
    "flags",
    "lead_unit",
    "manual_reason",
    "kind",
    "organization",
    "status",
    "jurisdiction",
    "category",
    "deadlines",
)


def timeline_entry(event: Envelope, *, seq: int | None = None) -> dict[str, Any]:
    """The timeline's record of one event."""
    return {
        "_id": event.id,
        "case_id": event.subject,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "seq": seq,
        "summary": {k: event.data[k] for k in SUMMARY_KEYS if k in event.data},
    }


async def record_on_timeline(delivery: Delivery, *, files: CaseFiles) -> None:
    """Put any case event on its case's timeline, once."""
    if delivery.event.subject:
        await files.record(timeline_entry(delivery.event, seq=delivery.sequence))


async def save_file(
    files: CaseFiles,
    keeper: Timekeeper,
    doc: dict[str, Any],
    changes: dict[str, Any],
    events: list[Envelope] | None = None,
) -> dict[str, Any]:
    """Save changes to a case file with its deadlines and next alarm recomputed, and project it into
    the units' worklists. Raises store.VersionConflict when the file changed meanwhile."""
    changes = changes | keeper.refresh(doc | changes)
    state = doc | changes
    unmet = {d["kind"] for d in changes["deadlines"] if d.get("met_at") is None}
    # overdue and still open: what the daily inspection (网巡) lists
    changes["overdue_open"] = state.get("status") in OPEN_STATES and bool(
        unmet & set(state.get("overdue_kinds") or [])
    )
    saved = await files.save(doc, changes, events or [])
    await files.project(saved, previous=doc)
    await files.roll_up(kpis.deltas(doc, saved, keeper.timezone))
    return saved


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


async def _file(files: CaseFiles, keeper: Timekeeper, case_id: str, case_no: str) -> dict[str, Any]:
    """The case file, created empty when an event of a later stage arrives first."""
    doc = await files.get(case_id)
    if doc is None:
        await files.create(new_case_file(case_id, case_no, None, None))
        doc = await files.get(case_id)
        assert doc is not None
    return doc


async def open_case_file(data: CaseReceivedView, *, files: CaseFiles, keeper: Timekeeper) -> None:
    """A registered case gets a file with the deadlines counted from registration."""

    async def attempt() -> None:
        doc = await _file(files, keeper, data.case_id, data.case_no)
        if doc.get("received_at") is None:
            changes = {"received_at": data.received_at, "channel": data.channel}
            await save_file(files, keeper, doc, changes | _confidential(doc, data.confidential))

    await retry_on_conflict(attempt)


def _confidential(doc: dict[str, Any], said: bool) -> dict[str, bool]:
    """A case is confidential once any event says so (in whatever order they come); nothing lifts it."""
    return {"confidential": bool(doc.get("confidential")) or said}


# A later stage (routing, assignment) is never undone by a screening outcome.
BEFORE_ROUTING = frozenset({"registered", "screening"})


async def record_screening(
    data: CaseScreenedView, *, files: CaseFiles, keeper: Timekeeper, at: datetime
) -> None:
    """Put intake's screening outcome on the case file; a decided outcome meets the acceptance notice."""

    async def attempt() -> None:
        doc = await _file(files, keeper, data.case_id, data.case_no)
        changes: dict[str, Any] = {
            "screening": data.model_dump(include={"outcome", "reason", "nature"}),
            **_confidential(doc, data.confidential),
            "channel": doc.get("channel") or data.channel,
            "repeat": bool((data.links or {}).get("repeat_of")),
        }
        if doc.get("received_at") is None:
            changes["received_at"] = data.received_at
        if data.outcome != "manual" and doc.get("screened_at") is None:
            changes["screened_at"] = at
        if doc["status"] in BEFORE_ROUTING:
            changes["status"] = SCREENING_STATUS.get(data.outcome, doc["status"])
        await save_file(files, keeper, doc, changes)

    await retry_on_conflict(attempt)


async def assign_routed_case(
    event: Envelope,
    data: CaseRoutedView,
    *,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock,
    consumer: str,
) -> None:
    """Record routing's decision; a case with a lead unit is assigned to it, with its deadlines.

    A new route (dispatch.case.rerouted) assigns the case again: the new lead signs again, and the
    limits counted from the assignment restart (the unit that returned it does not keep them). A
    case answered already (replied, followed up, closed, under review) is not handed out again: the
    route is recorded as `late_route`, and people decide (reopen, review).
    """

    async def attempt() -> None:
        doc = await _file(files, keeper, data.case_id, data.case_no)
        if doc.get("routed_event_id") == event.id or data.revision < doc.get("route_revision", 0):
            return  # applied before, or a newer route was applied already
        if doc["status"] in ANSWERED:
            late = {"revision": data.revision, "queue": data.queue, "at": clock.now()}
            late["lead_unit"] = data.lead_unit.model_dump() if data.lead_unit else None
            late_changes = {"routed_event_id": event.id, "route_revision": data.revision, "late_route": late}
            await save_file(files, keeper, doc, late_changes)
            return
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
        }
        events = []
        if data.queue == "auto" and data.lead_unit is not None:
            changes |= {
                "lead_unit": data.lead_unit.model_dump(),
                "assisting_units": [u.model_dump() for u in data.assisting_units],
            }
            now = clock.now()
            changes |= {"status": "assigned", "assigned_at": now, "signed_at": None, "overdue_kinds": []}
            if doc.get("first_assigned_at") is None:
                changes["first_assigned_at"] = now
            deadlines = keeper.refresh(doc | changes)["deadlines"]
            events.append(
                make_event(
                    type=subjects.CASE_ASSIGNED,
                    source=SOURCE,
                    subject=data.case_id,
                    clock=clock,
                    event_id=derived_event_id(consumer, event.id, subjects.CASE_ASSIGNED),
                    data=CaseAssigned(
                        case_id=data.case_id,
                        case_no=data.case_no,
                        lead_unit=data.lead_unit,
                        assisting_units=data.assisting_units,
                        deadlines=[Deadline.model_validate(d) for d in deadlines],
                        assigned_at=now,
                    ),
                )
            )
        else:
            changes["status"] = "manual_dispatch"
        await save_file(files, keeper, doc, changes, events)

    await retry_on_conflict(attempt)


async def record_dispute(
    case_id: str, reason: str, revision: int, *, files: CaseFiles, keeper: Timekeeper
) -> None:
    """A disputed route (争议管辖): the case waits for the joint conference; the unit that has it keeps it
    on its list until the conference decides. A dispute older than the route on file is ignored."""

    async def attempt() -> None:
        doc = await files.get(case_id)
        if doc is None or revision < doc.get("route_revision", 0):
            return  # no routed file (the timeline keeps the event), or the conference decided already
        if doc["status"] in ANSWERED:  # answered already: the dispute is on the timeline, nothing reopens
            return
        await save_file(files, keeper, doc, {"status": "route_disputed", "dispute_reason": reason})

    await retry_on_conflict(attempt)


async def record_mediation(
    case_id: str, event_type: str, data: dict[str, Any], *, at: datetime, files: CaseFiles, keeper: Timekeeper
) -> None:
    """A mediation of the case opened or concluded: a case being handled is `in_mediation` meanwhile,
    and the mediation's time limit is on the case file until it concludes."""

    async def attempt() -> None:
        doc = await files.get(case_id)
        if doc is None:
            return
        mediation_id = data["mediation_id"]
        extra = [d for d in doc.get("external_deadlines") or [] if d.get("source_id") != mediation_id]
        mine = next(
            (d for d in doc.get("external_deadlines") or [] if d.get("source_id") == mediation_id), None
        )
        changes: dict[str, Any] = {}
        if event_type == subjects.MEDIATION_OPENED:
            if mine is not None:
                return  # applied before
            deadline = data.get("deadline")
            if deadline:
                extra.append(
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
            changes["external_deadlines"] = extra
            changes["mediation"] = {"mediation_id": mediation_id, "organization": data.get("organization")}
            # a case being handled waits for the mediation; one not yet signed for keeps its state, so
            # the unit still signs (a routed dispute opens its mediation at once)
            if doc["status"] in HANDLING and doc["status"] != "in_mediation":
                changes |= {"status": "in_mediation", "status_before_mediation": doc["status"]}
        else:  # concluded
            if mine is None or mine.get("met_at") is not None:
                return
            changes["external_deadlines"] = [*extra, {**mine, "met_at": at}]
            if doc["status"] == "in_mediation":
                changes["status"] = doc.get("status_before_mediation") or "in_progress"
        await save_file(files, keeper, doc, changes)

    await retry_on_conflict(attempt)
