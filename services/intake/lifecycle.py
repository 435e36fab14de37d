"""Intake's lifecycle consumer: what it keeps of each case after registration, and the outcome feed.

One durable consumer takes supervision's events a case's followers care about (assigned, progressed,
extended, replied, followed up, reopened, closed), a batch at a time, without an inbox of processed
events: each case keeps the ids it applied (domain/lifecycle.py), and every feed event's id derives
from its cause. Per batch: an assignment of a case nobody outside follows is one conditional update,
as before the feed existed; any other event costs a point read for such a case and nothing more; the
followed cases are read, advanced and written together in one bulk write, their feed events stored
with the change (the outbox publishes them), and a case another writer changed meanwhile is read and
advanced again.
"""

import asyncio
from typing import Any

from dispatch_common import store
from dispatch_common.bus import Delivery
from dispatch_common.envelope import Outgoing
from dispatch_common.subjects import INTAKE_ON_LIFECYCLE
from services.intake.container import Intake
from services.intake.domain.lifecycle import LIFECYCLE_SUBJECTS, Step, advance, assignment

ROUNDS = 5  # reads and writes of a case that keeps changing under the consumer, before it retries later


def _step(delivery: Delivery) -> Step:
    event = delivery.event
    return Step(event.id, event.type, event.data, event.time, delivery.sequence)


async def _read(intake: Intake, case_id: str, steps: list[Step]) -> dict[str, Any] | None:
    """The case to advance whole, or None when nothing more is to be done for it."""
    if all(s.event_type == LIFECYCLE_SUBJECTS[0] for s in steps):  # assignments only
        last = max(steps, key=lambda s: s.sequence)
        noted = assignment(last.data, noted_at=intake.clock.now())
        if await intake.cases.note_assignment(case_id, noted, seq=last.sequence):
            return None
        return await intake.cases.get_versioned(case_id)  # followed, noted later, or an older document
    return await intake.cases.followed(case_id)


async def apply_lifecycle(deliveries: list[Delivery], *, intake: Intake) -> dict[str, BaseException]:
    """Apply a batch of supervision's events to the cases they are about; the failures by event id."""
    by_case: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_case.setdefault(delivery.event.data["case_id"], []).append(delivery)
    steps = {case_id: [_step(d) for d in ds] for case_id, ds in by_case.items()}
    pending = list(steps)
    for _ in range(ROUNDS):
        read = await asyncio.gather(*(_read(intake, c, steps[c]) for c in pending))
        now = intake.clock.now()
        items: list[tuple[dict[str, Any], dict[str, Any], list[Outgoing]]] = []
        for case in read:
            if case is None:
                continue
            moved = advance(case, steps[case["_id"]], now=now)
            if moved.changes:
                items.append((case, moved.changes, list(moved.owed)))
        saved = await intake.cases.save_many(items) if items else []
        pending = [
            current["_id"] for (current, _, _), state in zip(items, saved, strict=True) if state is None
        ]
        if any(moved for _, _, moved in items):
            intake.runtime.nudge()
        if not pending:
            return {}
    conflict = store.VersionConflict("the case kept changing while its lifecycle was applied")
    return {d.event.id: conflict for c in pending for d in by_case[c]}


def register(intake: Intake) -> None:
    """Consume the lifecycle events, a batch at a time."""

    async def on_events(deliveries: list[Delivery]) -> dict[str, BaseException]:
        return await apply_lifecycle(deliveries, intake=intake)

    intake.runtime.bus.consume_batch(
        filter_subjects=LIFECYCLE_SUBJECTS,
        durable=INTAKE_ON_LIFECYCLE,
        handler=on_events,
        inbox=False,
    )
