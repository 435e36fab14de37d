"""Cases stuck between two steps of the platform: registered but never screened, accepted but never
routed, past `STUCK_AFTER_SECONDS`.

Each step is chained to the next only by an event, so an event lost below the platform (a JetStream
store that lost acknowledged writes in an OS crash, a stream purged by hand) leaves its case waiting
with nothing to say so. Supervision sees every case's events and keeps its file, so it looks: every
`STUCK_SCAN_SECONDS` it counts the case files in such a state for longer than the threshold
(`dispatch_stuck_cases{step}`), logs each new one once with its case number, and the daily inspection
lists them. Supervision cannot redo another service's step; the runbook says how operations re-drive
one (docs/operations.md, "DispatchCasesStuck").
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.supervision import metrics
from services.supervision.adapters.repository import CaseFiles

log = logging.getLogger("dispatch.supervision.stuck")
LIMIT = 1000

STUCK_STATES = {
    "registered": "received, never screened",
    "accepted": "accepted at screening, never routed",
}
"""Case file status -> the step the case waits for (manual queues are people's work, not stuck)."""

FIELDS = {"case_no": 1, "status": 1, "received_at": 1, "screened_at": 1, "channel": 1, "confidential": 1}


async def find_stuck(
    files: CaseFiles,
    *,
    now: datetime,
    after: timedelta,
    where: dict[str, Any] | None = None,
    limit: int | None = LIMIT,
) -> list[dict[str, Any]]:
    """The case files waiting in a state between two automatic steps for longer than `after`
    (`where`: a reader's filter, e.g. hiding the confidential reports it may not see; `limit` per
    state, None for every one)."""
    stuck: list[dict[str, Any]] = []
    for state, why in STUCK_STATES.items():
        found = files.files.find({"status": state, **(where or {})}, FIELDS).sort("_id", 1)
        async for doc in found.limit(limit) if limit else found:
            since = doc.get("screened_at") or doc.get("received_at")
            if since is not None and now - since > after:
                stuck.append({**doc, "why": f"{why} for more than {int(after.total_seconds())} s"})
    return stuck


@dataclass
class StuckCases:
    """The periodic look, with what it reported before (each case is logged once while stuck)."""

    files: CaseFiles
    after: timedelta
    reported: set[str] = field(default_factory=set)

    async def sweep(self, now: datetime) -> list[dict[str, Any]]:
        """Count and report the stuck cases; the list."""
        stuck = await find_stuck(self.files, now=now, after=self.after)
        for state in STUCK_STATES:
            metrics.STUCK_CASES.labels(state).set(sum(1 for d in stuck if d["status"] == state))
        for doc in stuck:
            if doc["_id"] not in self.reported:
                log.warning(
                    "case stuck between two steps",
                    extra={"case_id": doc["_id"], "case_no": doc.get("case_no"), "why": doc["why"]},
                )
        self.reported = {d["_id"] for d in stuck}
        return stuck
