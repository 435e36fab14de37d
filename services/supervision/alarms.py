"""The deadline scanner's alarms: warnings, overdue and the escalation ladder (三函一约谈), raised once
each. An alarm's key is stored with the change, so a second scanner or a restarted one finds it done."""

from typing import Any

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.policy import Alarm, Timekeeper, to_ms
from services.supervision.handlers import SOURCE, save_file


def _alarm_event(doc: dict[str, Any], alarm: Alarm, clock: Clock) -> Envelope:
    event_type = {
        "warning": subjects.CASE_DEADLINE_WARNING,
        "overdue": subjects.CASE_OVERDUE,
        "escalation": subjects.CASE_ESCALATED,
    }[alarm.action]
    deadline = next(d for d in doc["deadlines"] if d["kind"] == alarm.kind)
    data: dict[str, Any] = {
        "deadline": {"kind": alarm.kind, "label": deadline["label"], "due_at": alarm.due_at},
        "lead_unit": doc.get("lead_unit"),
        "status": doc["status"],
    }
    if alarm.action == "escalation":
        data["level"] = alarm.level
        data["label"] = alarm.label
    return make_event(
        type=event_type,
        source=SOURCE,
        subject=doc["_id"],
        clock=clock,
        event_id=derived_event_id("supervision", doc["_id"], alarm.key),
        data={"case_id": doc["_id"], "case_no": doc["case_no"], **data},
    )


async def raise_alarms(
    doc: dict[str, Any], *, files: CaseFiles, keeper: Timekeeper, clock: Clock
) -> list[Alarm]:
    """Act on every alarm of one case file that is due; each is stored as done with the change."""
    now = clock.now()
    fired = set(doc.get("alarms_fired") or [])
    due = keeper.policy.due_alarms(doc.get("deadlines") or [], fired, now)
    if not due:
        await save_file(files, keeper, doc, {})  # the next alarm moved (a deadline was met): look later
        return []
    changes: dict[str, Any] = {"alarms_fired": sorted(fired | {a.key for a in due})}
    escalations = [a for a in due if a.action == "escalation"]
    if escalations:
        changes["escalations"] = [
            *doc.get("escalations", []),
            *(
                {"kind": a.kind, "level": a.level, "label": a.label, "at": now, "due_at": a.due_at}
                for a in escalations
            ),
        ]
    if any(a.action == "overdue" for a in due):
        changes["overdue_kinds"] = sorted(
            {*doc.get("overdue_kinds", []), *(a.kind for a in due if a.action == "overdue")}
        )
    await save_file(files, keeper, doc, changes, [_alarm_event(doc, a, clock) for a in due])
    return due


async def scan(
    *, files: CaseFiles, keeper: Timekeeper, clock: Clock, batch: int = 200, rounds: int = 50
) -> int:
    """One pass of the deadline scanner: every case file with an alarm due (in batches, at most
    `rounds` of them per pass); how many alarms acted."""
    acted = 0
    for _ in range(rounds):
        docs = await files.due_for_alarms(to_ms(clock.now()) or 0, batch)
        for doc in docs:
            try:
                acted += len(await raise_alarms(doc, files=files, keeper=keeper, clock=clock))
            except store.VersionConflict:
                continue  # another writer moved the file: the next pass reads it again
        if len(docs) < batch:
            break
    return acted
