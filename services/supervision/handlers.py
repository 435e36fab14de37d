"""Supervision's event handlers: keep the timeline, open the case file, assign the lead unit.

The consumer hands over the events of a fetched batch together (`apply_events`), so that the
store is written once per case and batch rather than several times per event:
- every event goes on its case's timeline, all of the batch's entries in one insert;
- the events that change a case file (received, screened, routed and rerouted, disputes, mediations)
  are grouped by case and applied in stream order to the file read once, which is then written once
  under its version guard with the events it owes (a conflict with a person's command reads it again
  and applies the case's events again: the steps are idempotent, domain/steps.py);
- the worklist lines and the figures' rollup rows of the changed files are written once per batch.
"""

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from dispatch_common import store, subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock, FixedClock
from dispatch_common.envelope import Envelope, make_event
from services.supervision.adapters.repository import OPEN_STATES, CaseFiles
from services.supervision.domain import findable, kpis, steps
from services.supervision.domain.events import CaseReceivedView, CaseRoutedView, CaseScreenedView
from services.supervision.domain.policy import Timekeeper
from services.supervision.domain.steps import SOURCE, new_case_file
from services.supervision.warnings import Warnings

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
    "action",
    "by",
    "audience",  # a notice's: the petitioner's own are listed on their progress page
)
CASE_STEP_KEYS = (
    "note",
    "reason",
    "units",
    "days",
    "approved",
    "result",
    "rating",
    "stage",
    "public",
)
"""What a step on the case itself (dispatch.case.*: people's actions, routes, disputes) says of why;
the notes of mediations and referrals stay in their own services' records."""
ROUTES = frozenset({subjects.CASE_ROUTED, subjects.CASE_REROUTED})
MEDIATIONS = frozenset({subjects.MEDIATION_OPENED, subjects.MEDIATION_CONCLUDED})
CREATES_FILE = ROUTES | {subjects.CASE_RECEIVED, subjects.CASE_SCREENED}
"""Events that open a case file when they arrive before it exists (a later stage first)."""
CHANGES_FILE = CREATES_FILE | MEDIATIONS | {subjects.CASE_ROUTE_DISPUTED}
DANGERS = frozenset({subjects.REFERRAL_CRISIS, subjects.MEDIATION_ESCALATED})
CONFLICT_ATTEMPTS = 5


def timeline_entry(event: Envelope, *, seq: int | None = None) -> dict[str, Any]:
    """The timeline's record of one event."""
    return {
        "_id": event.id,
        "case_id": event.subject,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "seq": seq,
        "summary": {k: event.data[k] for k in _summary_keys(event.type) if k in event.data},
    }


def _summary_keys(event_type: str) -> tuple[str, ...]:
    return SUMMARY_KEYS + CASE_STEP_KEYS if event_type.startswith("dispatch.case.") else SUMMARY_KEYS


def with_deadlines(doc: dict[str, Any], changes: dict[str, Any], keeper: Timekeeper) -> dict[str, Any]:
    """Changes with the file's deadlines and next alarm recomputed, and whether it is overdue and open
    (what the daily inspection, 网巡, lists)."""
    changes = changes | keeper.refresh(doc | changes)
    state = doc | changes
    unmet = {d["kind"] for d in changes["deadlines"] if d.get("met_at") is None}
    changes["overdue_open"] = state.get("status") in OPEN_STATES and bool(
        unmet & set(state.get("overdue_kinds") or [])
    )
    return changes | findable.derived(state | changes)


async def save_file(
    files: CaseFiles,
    keeper: Timekeeper,
    doc: dict[str, Any],
    changes: dict[str, Any],
    events: list[Envelope] | None = None,
) -> dict[str, Any]:
    """Save a person's or the scanner's change to a case file with its deadlines recomputed, and
    project it into the worklist and the figures. Raises store.VersionConflict when the file changed
    meanwhile."""
    saved = await files.save(doc, with_deadlines(doc, changes, keeper), events or [])
    await files.project([(doc, saved)])
    await files.roll_up(kpis.deltas(doc, saved, keeper.timezone))
    return saved


def _step(
    doc: dict[str, Any], delivery: Delivery, *, keeper: Timekeeper, clock: Clock, consumer: str
) -> steps.Step | None:
    event = delivery.event
    data = event.data
    if event.type == subjects.CASE_RECEIVED:
        return steps.received(doc, CaseReceivedView.model_validate(data))
    if event.type == subjects.CASE_SCREENED:
        return steps.screened(doc, CaseScreenedView.model_validate(data), at=event.time)
    if event.type in ROUTES:
        view = CaseRoutedView.model_validate(data)
        return steps.routed(doc, event, view, now=clock.now(), keeper=keeper, consumer=consumer)
    if event.type == subjects.CASE_ROUTE_DISPUTED:
        return steps.disputed(doc, data["reason"], data["revision"], event.time)
    return steps.mediation(doc, event.type, data, at=event.time)


async def _apply_to_file(
    case_id: str,
    deliveries: Sequence[Delivery],
    read: dict[str, Any] | None,
    *,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock,
    consumer: str,
) -> tuple[dict[str, Any] | None, dict[str, Any]] | None:
    """Apply a case's events of the batch to its file in one write; (before, after), or None when
    they change nothing."""
    ordered = sorted(deliveries, key=lambda d: d.sequence)
    doc = read
    for _ in range(CONFLICT_ATTEMPTS):
        if doc is None and not any(d.event.type in CREATES_FILE for d in ordered):
            return None  # a dispute or mediation of a case without a file: the timeline has it
        state = doc or new_case_file(case_id, ordered[0].event.data.get("case_no", ""), None, None)
        owed: list[Envelope] = []
        changed = doc is None
        for delivery in ordered:
            step = _step(state, delivery, keeper=keeper, clock=clock, consumer=consumer)
            if step is not None:
                state = state | with_deadlines(state, step.changes, keeper)
                owed += step.events
                changed = True
        if not changed:
            return None
        try:
            with ordered[0].traced():  # the events it owes continue the trace of the case's first event
                if doc is None:
                    if await store.insert_aggregate(files.files, state, owed):
                        return None, state | {"version": 1}
                else:
                    return doc, await files.save(doc, state, owed)
        except store.VersionConflict:
            pass
        doc = await files.get(case_id)  # another writer got there first: apply again to what it wrote
    raise store.VersionConflict(f"case file {case_id} kept changing under {CONFLICT_ATTEMPTS} attempts")


async def apply_events(
    deliveries: Sequence[Delivery],
    *,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock,
    warnings: Warnings,
    consumer: str,
    timeline: bool = True,
) -> dict[str, BaseException]:
    """Apply a batch of case events: the timeline, the case files, the worklist and figures, the
    warnings. Returns the failures by event id (the others are applied); raises when nothing could be."""
    if timeline:
        entries = [timeline_entry(d.event, seq=d.sequence) for d in deliveries if d.event.subject]
        await files.record_many(entries)
    by_case: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        if delivery.event.type in CHANGES_FILE:
            by_case.setdefault(delivery.event.data["case_id"], []).append(delivery)
    read = await files.get_many(list(by_case))
    context = {"files": files, "keeper": keeper, "clock": clock, "consumer": consumer}
    results = await asyncio.gather(
        *(_apply_to_file(case_id, mine, read.get(case_id), **context) for case_id, mine in by_case.items()),
        return_exceptions=True,
    )
    failures: dict[str, BaseException] = {}
    changed: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
    for case_deliveries, result in zip(by_case.values(), results, strict=True):
        if isinstance(result, BaseException):
            failures |= {d.event.id: result for d in case_deliveries}
        elif result is not None:
            changed.append(result)
    await files.project(changed)
    tz = keeper.timezone
    await files.roll_up(delta for before, after in changed for delta in kpis.deltas(before, after, tz))
    await _warn(deliveries, changed, failures, warnings)
    return failures


async def _warn(
    deliveries: Iterable[Delivery],
    changed: list[tuple[dict[str, Any] | None, dict[str, Any]]],
    failures: dict[str, BaseException],
    warnings: Warnings,
) -> None:
    """Early warnings the batch's events may raise: a third repeat, a cluster of assigned cases in one
    place and category, a crisis or an escalated mediation (each once, by its derived id)."""
    routed_cases = {d.event.data["case_id"] for d in deliveries if d.event.type in ROUTES}
    for _, after in changed:
        # one mark per case: counted once; a confidential report marks no place
        if after["_id"] in routed_cases and after["status"] == "assigned" and not after.get("confidential"):
            await warnings.on_assigned(after, after.get("first_assigned_at") or after["assigned_at"])
    for delivery in deliveries:
        event = delivery.event
        if event.id in failures:
            continue
        if event.type == subjects.CASE_SCREENED:
            data = event.data
            if not data.get(
                "confidential"
            ):  # a report names no petitioner's repeats (its links are withheld)
                await warnings.on_screened(data["case_id"], data["case_no"], data.get("links"))
        elif event.type in DANGERS:
            await warnings.on_danger(event.type, event.data)


# -- one event at a time (tools and tests), through the same path --------------------------------------


async def _apply_one(
    event_type: str,
    data: BaseModel | dict[str, Any],
    at: datetime,
    *,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock | None = None,
    event: Envelope | None = None,
    consumer: str = subjects.SUPERVISION_CASE_FILE,
) -> None:
    if event is None:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        case_id = payload["case_id"]
        clock_at = FixedClock(at)
        event = make_event(type=event_type, source=SOURCE, subject=case_id, data=payload, clock=clock_at)
    elif isinstance(data, BaseModel):  # the view given wins over the envelope's data
        event = event.model_copy(update={"data": data.model_dump(mode="json")})
    delivery = Delivery(event=event, data=None, deliveries=1)
    failures = await apply_events(
        [delivery],
        files=files,
        keeper=keeper,
        clock=clock or FixedClock(at),
        warnings=_NO_WARNINGS,
        consumer=consumer,
        timeline=False,
    )
    for failure in failures.values():
        raise failure


class _NoWarnings:
    """Single events applied by hand raise no warnings (the consumer's batch does)."""

    async def on_assigned(self, doc: dict[str, Any], at: datetime) -> bool:
        return False

    async def on_screened(self, case_id: str, case_no: str, links: dict[str, Any] | None) -> bool:
        return False

    async def on_danger(self, event_type: str, data: dict[str, Any]) -> bool:
        return False


_NO_WARNINGS: Any = _NoWarnings()


async def open_case_file(data: CaseReceivedView, *, files: CaseFiles, keeper: Timekeeper) -> None:
    """A registered case gets a file with the deadlines counted from registration."""
    await _apply_one(subjects.CASE_RECEIVED, data, data.received_at, files=files, keeper=keeper)


async def record_screening(
    data: CaseScreenedView, *, files: CaseFiles, keeper: Timekeeper, at: datetime
) -> None:
    """Put intake's screening outcome on the case file."""
    await _apply_one(subjects.CASE_SCREENED, data, at, files=files, keeper=keeper)


async def assign_routed_case(
    event: Envelope,
    data: CaseRoutedView,
    *,
    files: CaseFiles,
    keeper: Timekeeper,
    clock: Clock,
    consumer: str,
) -> None:
    """Record routing's decision; a case with a lead unit is assigned to it, with its deadlines."""
    await _apply_one(
        event.type, data, clock.now(), files=files, keeper=keeper, clock=clock, event=event, consumer=consumer
    )


async def record_dispute(
    case_id: str, reason: str, revision: int, *, files: CaseFiles, keeper: Timekeeper
) -> None:
    """A disputed route (争议管辖): the case waits for the joint conference."""
    data = {"case_id": case_id, "reason": reason, "revision": revision}
    at = datetime.now(UTC)
    await _apply_one(subjects.CASE_ROUTE_DISPUTED, data, at, files=files, keeper=keeper)


async def record_mediation(
    case_id: str, event_type: str, data: dict[str, Any], *, at: datetime, files: CaseFiles, keeper: Timekeeper
) -> None:
    """A mediation of the case opened or concluded."""
    await _apply_one(event_type, {**data, "case_id": case_id}, at, files=files, keeper=keeper)
