"""The ledger's part of the deadline scanner: an open entry's warning, overdue and escalation ladder.

The alarms are the deadline table's (DeadlinePolicy.alarms: the same warning rule and 三函一约谈
ladder as a case's), each acted on once: its key is stored with the change under the entry's
version, so a second scanner or a restarted one finds it done. Each alarm is an event
(dispatch.ledger.deadline_warning / overdue / escalated) that notify turns into notices to the owner
unit, its leader and the supervisors, as it does for a case (data/notify/recipients.json).
"""

from typing import Any

from dispatch_common import store, subjects
from dispatch_common.envelope import Envelope
from services.supervision.domain.policy import Alarm, to_ms
from services.supervision.ledger import Ledger

EVENT_OF_ALARM = {
    "warning": subjects.LEDGER_DEADLINE_WARNING,
    "overdue": subjects.LEDGER_OVERDUE,
    "escalation": subjects.LEDGER_ESCALATED,
}


def _event(ledger: Ledger, doc: dict[str, Any], alarm: Alarm) -> Envelope:
    data: dict[str, Any] = {
        "status": doc["status"],
        "risk_level": doc["risk_level"],
        "deadline": {"kind": alarm.kind, "label": ledger.policy.deadline_label, "due_at": alarm.due_at},
    }
    if alarm.action == "escalation":
        data |= {"level": alarm.level, "label": alarm.label}
    return ledger.event(doc, EVENT_OF_ALARM[alarm.action], data, alarm.key)


async def raise_alarms(ledger: Ledger, doc: dict[str, Any]) -> list[Alarm]:
    """Act on every alarm of one entry that is due."""
    now = ledger.clock.now()
    fired = set(doc.get("alarms_fired") or [])
    due = ledger.keeper.policy.due_alarms(doc.get("deadlines") or [], fired, now)
    if not due:
        await ledger.save(doc, {}, [])  # the entry was closed meanwhile: look again later, or never
        return []
    changes: dict[str, Any] = {"alarms_fired": sorted(fired | {a.key for a in due})}
    escalations = [a for a in due if a.action == "escalation"]
    if escalations:
        rungs = [{"level": a.level, "label": a.label, "at": now, "due_at": a.due_at} for a in escalations]
        changes["escalations"] = [*doc.get("escalations", []), *rungs]
    if any(a.action == "overdue" for a in due):
        changes["overdue"] = True
    await ledger.save(doc, changes, [_event(ledger, doc, a) for a in due])
    return due


async def scan(ledger: Ledger, *, batch: int = 200, rounds: int = 50) -> int:
    """One pass over the entries with an alarm due; how many alarms acted."""
    acted = 0
    for _ in range(rounds):
        docs = await ledger.book.due_for_alarms(to_ms(ledger.clock.now()) or 0, batch)
        for doc in docs:
            try:
                acted += len(await raise_alarms(ledger, doc))
            except store.VersionConflict:
                continue  # another writer moved the entry: the next pass reads it again
        if len(docs) < batch:
            break
    return acted
