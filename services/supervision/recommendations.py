"""The three recommendation powers (三项建议权): a supervisor's recommendation against a unit, stored with
its event."""

import uuid
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import derived_event_id, make_event
from services.supervision.adapters.repository import CaseFiles
from services.supervision.commands import actor
from services.supervision.domain.policy import to_ms
from services.supervision.handlers import SOURCE


async def recommend(
    unit: str, kind: str, text: str, case_id: str | None, *, caller: Principal, files: CaseFiles, clock: Clock
) -> dict[str, Any]:
    """Record one of the three recommendation powers (三项建议权) against a unit, with its event."""
    now = clock.now()
    rec_id = str(uuid.uuid4())
    doc = {
        "_id": rec_id,
        "unit": unit,
        "kind": kind,
        "text": text,
        "case_id": case_id,
        "by": actor(caller),
        "at": now,
    }
    event = make_event(
        type=subjects.RECOMMENDATION_MADE,
        source=SOURCE,
        subject=case_id,
        clock=clock,
        event_id=derived_event_id("supervision", "recommendation", rec_id),
        data={"recommendation_id": rec_id, **{k: v for k, v in doc.items() if k != "_id"}},
    )
    # `at_ts` (integer ms) is the list's sort key, not part of the recommendation the event tells
    await store.insert_aggregate(files.recommendations, doc | {"at_ts": to_ms(now)}, [event])
    return {"recommendation_id": rec_id, **{k: v for k, v in doc.items() if k != "_id"}}
