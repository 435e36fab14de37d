"""The center's board (大屏): the figures one replica computes every few seconds for its watchers.

Each figure is one small query on what supervision keeps already: the case files (intake by channel
since midnight, overdue), the worklist lines of lead units (due soon, load per town and unit), the
KPI rollups of the month (the four rates) and the warnings. Confidential reports (检举控告) are not
counted: the board is made for a wall screen.
"""

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.clock import Clock
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain import kpis
from services.supervision.domain.policy import to_ms

LATEST_WARNINGS = 5
NOT_CONFIDENTIAL = {"confidential": {"$ne": True}}


async def _count_by(col: AsyncCollection, field: str, match: dict[str, Any]) -> dict[str, int]:
    """Documents per value of one field (one `$group` key: the portable subset)."""
    pipeline = [{"$match": match}, {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]
    rows = [row async for row in await col.aggregate(pipeline)]
    return {str(row["_id"]): int(row["n"]) for row in rows if row["_id"] is not None}


class Board:
    """What the board shows, computed from supervision's own collections."""

    def __init__(
        self,
        files: CaseFiles,
        warnings: AsyncCollection,
        clock: Clock,
        timezone: ZoneInfo,
        due_soon: timedelta,
    ) -> None:
        self.files = files
        self.warnings = warnings
        self.clock = clock
        self.timezone = timezone
        self.due_soon = due_soon

    async def figures(self) -> dict[str, Any]:
        """Today's intake by channel, the month's four rates, overdue and due-soon counts, the latest
        warnings, the open cases per town and per lead unit."""
        now = self.clock.now()
        local = now.astimezone(self.timezone)
        midnight = datetime.combine(local.date(), time(0), self.timezone)
        now_ms = to_ms(now) or 0
        lead_open = {"role": "lead", "open": True} | NOT_CONFIDENTIAL
        month = local.strftime("%Y-%m")
        rows = [r for r in await self.files.rollup_rows({"period": month}) if not r.get("confidential")]
        rates = kpis.summarize([r | {"all": month} for r in rows], "all")
        found = rates[0] if rates else kpis.figures(dict.fromkeys(kpis.COUNTERS, 0))
        latest = self.warnings.find(NOT_CONFIDENTIAL, {"kind": 1, "raised_at": 1, "title": 1, "summary": 1})
        return {
            "at": now,
            "intake_today": await _count_by(
                self.files.files, "channel", {"received_ts": {"$gte": to_ms(midnight)}} | NOT_CONFIDENTIAL
            ),
            "rates": {
                "month": month,
                "response_rate": found["response_rate"],
                "resolution_rate": found["resolution_rate"],
                "satisfaction_rate": found["satisfaction_rate"],
                "on_time_rate": found["on_time_reply_rate"],
            },
            "overdue": await self.files.files.count_documents({"overdue_open": True} | NOT_CONFIDENTIAL),
            "due_soon": await self.files.worklist.count_documents(
                lead_open
                | {"due_ts": {"$gte": now_ms, "$lte": now_ms + int(self.due_soon.total_seconds() * 1000)}}
            ),
            "warnings": {
                "total": await self.warnings.count_documents(NOT_CONFIDENTIAL),
                "latest": [
                    {"id": w["_id"], "kind": w.get("kind"), "raised_at": w.get("raised_at")}
                    async for w in latest.sort("raised_ts", -1).limit(LATEST_WARNINGS)
                ],
            },
            "load": {
                "towns": await _count_by(self.files.worklist, "town", lead_open),
                "units": await _count_by(self.files.worklist, "unit", lead_open),
            },
        }
