"""Supervision's event handlers: keep the timeline, open the case file, assign the lead unit."""

from datetime import datetime
from typing import Any

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock, as_utc
from dispatch_common.contracts import SCREENING_STATUS
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from dispatch_common.store import retry_on_conflict
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.events import (
    CaseAssigned,
    CaseReceivedView,
    CaseRoutedView,
    CaseScreenedView,
    Deadline,
)
from services.supervision.domain.policy import DeadlinePolicy

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


def _anchors(doc: dict[str, Any]) -> dict[str, datetime]:
    return {k: as_utc(doc[f"{k}_at"]) for k in ("received", "assigned") if doc.get(f"{k}_at")}


def new_case_file(
    case_id: str, case_no: str, received_at: datetime, policy: DeadlinePolicy
) -> dict[str, Any]:
    """A registered case's file, with the deadlines counted from registration."""
    return {
        "_id": case_id,
        "case_no": case_no,
        "status": "registered",
        "received_at": received_at,
        "deadlines": policy.deadlines_for({"received": received_at}),
    }


async def open_case_file(data: CaseReceivedView, *, files: CaseFiles, policy: DeadlinePolicy) -> None:
    """A registered case gets a file with the deadlines counted from registration."""

    async def attempt() -> None:
        doc = await files.get(data.case_id)
        if doc is None:
            await files.create(new_case_file(data.case_id, data.case_no, data.received_at, policy))
            return
        if doc.get("received_at") is None:  # routing's event arrived first; fill in what it lacked
            anchors = {**_anchors(doc), "received": data.received_at}
            await files.save(
                doc, {"received_at": data.received_at, "deadlines": policy.deadlines_for(anchors)}
            )

    await retry_on_conflict(attempt)


# A later stage (routing, assignment) is never undone by a screening outcome.
BEFORE_ROUTING = frozenset({"registered", "screening"})


async def record_screening(data: CaseScreenedView, *, files: CaseFiles, policy: DeadlinePolicy) -> None:
    """Put intake's screening outcome on the case file."""

    async def attempt() -> None:
        doc = await files.get(data.case_id)
        if doc is None:
            await files.create(new_case_file(data.case_id, data.case_no, data.received_at, policy))
            doc = await files.get(data.case_id)
            assert doc is not None
        changes: dict[str, Any] = {
            "screening": data.model_dump(include={"outcome", "reason", "nature"}),
            "confidential": data.confidential,
        }
        if doc["status"] in BEFORE_ROUTING:
            changes["status"] = SCREENING_STATUS.get(data.outcome, doc["status"])
        await files.save(doc, changes)

    await retry_on_conflict(attempt)


async def assign_routed_case(
    event: Envelope,
    data: CaseRoutedView,
    *,
    files: CaseFiles,
    policy: DeadlinePolicy,
    clock: Clock,
    consumer: str,
) -> None:
    """Record routing's decision; a case with a lead unit is assigned to it, with its deadlines."""

    async def attempt() -> None:
        doc = await files.get(data.case_id)
        if doc is None:
            await files.create(
                {
                    "_id": data.case_id,
                    "case_no": data.case_no,
                    "status": "registered",
                    "received_at": None,
                    "deadlines": [],
                }
            )
            doc = await files.get(data.case_id)
            assert doc is not None
        if doc.get("routed_event_id") == event.id or data.revision < doc.get("route_revision", 0):
            return  # applied before, or a newer route was applied already
        changes: dict[str, Any] = {
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
            anchors = {**_anchors(doc), "assigned": now}
            deadlines = policy.deadlines_for(anchors)
            changes |= {"status": "assigned", "assigned_at": now, "deadlines": deadlines}
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
        await files.save(doc, changes, events)

    await retry_on_conflict(attempt)


async def record_dispute(case_id: str, reason: str, *, files: CaseFiles) -> None:
    """A disputed route (争议管辖): the case waits for the joint conference, with no lead unit meanwhile."""

    async def attempt() -> None:
        doc = await files.get(case_id)
        if doc is None:
            return  # a dispute needs a routed case, whose file exists; the timeline keeps the event
        await files.save(doc, {"status": "route_disputed", "dispute_reason": reason})

    await retry_on_conflict(attempt)
