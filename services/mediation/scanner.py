"""The mediation scanner: every `MEDIATION_SCAN_SECONDS` it acts on the alarms that are due, a
time limit passed while open (dispatch.mediation.overdue) and an agreement whose fulfilment date
passed without a check (dispatch.mediation.fulfilment_due). Each alarm's key is saved with its event
under the mediation's version, so two scanners, or a restarted one, act once."""

from typing import Any

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import derived_event_id
from services.mediation.adapters.repository import MediationStore
from services.mediation.domain.events import mediation_event
from services.mediation.domain.rules import derived_fields, due_alarms


async def raise_alarms(doc: dict[str, Any], *, repo: MediationStore, clock: Clock) -> int:
    """Act on every alarm of one mediation that is due; each key is stored with its event."""
    now = clock.now()
    due = due_alarms(doc, now)
    fired = [*doc.get("alarms_fired", []), *(a.key for a in due)]
    changes: dict[str, Any] = {"alarms_fired": fired}
    state = doc | changes
    changes |= derived_fields(state)
    events = []
    for alarm in due:
        if alarm.kind == "time_limit":
            label = (doc.get("time_limit") or {}).get("label", "调解期限")
            data: dict[str, Any] = {"deadline": {"kind": "mediation", "label": label, "due_at": alarm.due_at}}
            event_type = subjects.MEDIATION_OVERDUE
        else:
            agreement = doc["agreement"]
            data = {
                "agreement": {
                    "agreement_no": agreement["agreement_no"],
                    "fulfilment_due": agreement["fulfilment_due"],
                    "check_at": agreement["check_at"],
                }
            }
            event_type = subjects.MEDIATION_FULFILMENT_DUE
        events.append(
            mediation_event(
                state,
                event_type,
                data,
                by=None,
                at=now,
                cause=alarm.key,
                clock=clock,
                event_id=derived_event_id("mediation", doc["_id"], alarm.key),
            )
        )
    await repo.save(doc, changes, events)
    return len(due)


async def scan(*, repo: MediationStore, clock: Clock, batch: int = 200, rounds: int = 20) -> int:
    """One pass of the scanner: every mediation with an alarm due; how many alarms acted."""
    acted = 0
    for _ in range(rounds):
        now_ms = int(clock.now().timestamp() * 1000)
        docs = await repo.due_for_alarms(now_ms, batch)
        for doc in docs:
            try:
                acted += await raise_alarms(doc, repo=repo, clock=clock)
            except store.VersionConflict:
                continue  # another writer moved it: the next pass reads it again
        if len(docs) < batch:
            break
    return acted
