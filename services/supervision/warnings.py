"""Early warnings (预警): clusters of one category in one place, a petitioner's third repeat, and the
monthly 未诉先办 report of categories running above the same month of the year before.

A warning is a document of the `warnings` collection with a deterministic id, inserted with its
dispatch.warning.raised event in its outbox: raising the same warning twice (a redelivery, two
replicas, a restart) inserts nothing the second time.
"""

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import derived_event_id, make_event

SOURCE = "/dispatch/supervision"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClusterRule(_Strict):
    area: str = Field("village", pattern="^(village|grid|town)$")
    window_days: int = Field(7, ge=1, le=90)
    threshold: int = Field(5, ge=2)


class RepeatRule(_Strict):
    nth: int = Field(3, ge=2)


class TrendRule(_Strict):
    min_count: int = Field(10, ge=1)
    min_increase: float = Field(0.2, ge=0)


class WarningPolicy(_Strict):
    """data/policy/warnings.json."""

    version: str
    description: str | None = None
    cluster: ClusterRule = Field(default_factory=ClusterRule)
    repeat: RepeatRule = Field(default_factory=RepeatRule)
    trend: TrendRule = Field(default_factory=TrendRule)

    @classmethod
    def load(cls, path: Path) -> "WarningPolicy":
        """Read the policy file."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))


@dataclass
class Warnings:
    """The warnings collection, the per-day counts behind cluster warnings, and the policy."""

    warnings: AsyncCollection
    counts: AsyncCollection
    policy: WarningPolicy
    timezone: ZoneInfo
    clock: Clock

    async def ensure_indexes(self) -> None:
        """Warnings listed newest first, by kind; a place's marks by place and category."""
        await self.warnings.create_index("raised_ts")
        await self.warnings.create_index("kind")
        await self.counts.create_index("key")

    async def _raise(self, warning_id: str, kind: str, data: dict[str, Any]) -> bool:
        now = self.clock.now()
        doc = {
            "_id": warning_id,
            "kind": kind,
            "raised_at": now,
            "raised_ts": round(now.timestamp() * 1000),
            **data,
        }
        event = make_event(
            type=subjects.WARNING_RAISED,
            source=SOURCE,
            subject=data.get("case_id"),
            clock=self.clock,
            event_id=derived_event_id("supervision", "warning", warning_id),
            data={"warning_id": warning_id, "kind": kind, "raised_at": now, **data},
        )
        return await store.insert_aggregate(self.warnings, doc, [event])

    async def on_assigned(self, doc: dict[str, Any], at: datetime) -> bool:
        """Mark a newly assigned case in its place and category; warn when a cluster forms.

        One mark per case (its id is the case id), so a redelivered assignment counts once; the marks
        of a place and category within the window are read by an indexed equality and counted.
        """
        rule = self.policy.cluster
        area = (doc.get("jurisdiction") or {}).get(rule.area)
        category = (doc.get("category") or {}).get("code")
        if not area or not category:
            return False
        key = f"{area}|{category}"
        day = at.astimezone(self.timezone).date()
        with contextlib.suppress(DuplicateKeyError):
            await self.counts.insert_one({"_id": doc["_id"], "key": key, "day": day.toordinal()})
        since = day.toordinal() - rule.window_days + 1
        window = {"$gte": since, "$lte": day.toordinal()}
        total = len([mark async for mark in self.counts.find({"key": key, "day": window}, {"_id": 1})])
        if total < rule.threshold:
            return False
        bucket = day.toordinal() // rule.window_days  # at most one warning per place, category and window
        return await self._raise(
            f"cluster|{area}|{category}|{bucket}",
            "cluster",
            {
                "case_id": doc["_id"],
                "case_no": doc["case_no"],
                "area": area,
                "area_level": rule.area,
                "category": category,
                "count": total,
                "window_days": rule.window_days,
                "reason": f"{total} cases of category {category} in {area} within {rule.window_days} days "
                f"(threshold {rule.threshold}): a possible group incident",
            },
        )

    async def on_screened(self, case_id: str, case_no: str, links: dict[str, Any] | None) -> bool:
        """A petitioner's nth case that repeats an earlier one (no identity: the case is named)."""
        links = links or {}
        nth = int(links.get("earlier_cases") or 0) + 1
        if not links.get("repeat_of") or nth < self.policy.repeat.nth:
            return False
        return await self._raise(
            f"repeat|{case_id}",
            "repeat",
            {
                "case_id": case_id,
                "case_no": case_no,
                "count": nth,
                "reason": f"the petitioner's case number {nth} within the repeat window, repeating "
                f"{(links.get('repeat_of') or {}).get('case_no')}",
            },
        )

    async def on_danger(self, event_type: str, data: dict[str, Any]) -> bool:
        """A counselling crisis or an escalated mediation: supervisors and leaders are alerted at once
        (notify sends warnings urgently), naming the police station mediation brought in."""
        crisis = event_type == subjects.REFERRAL_CRISIS
        source = data["referral_id"] if crisis else data["mediation_id"]
        station = data.get("police_station") or {}
        note = data.get("note") or ""
        reason = (
            f"crisis in a counselling referral (risk {data.get('risk_level')}) {note}".strip()
            if crisis
            else f"the mediation's dispute grew: {data.get('reason')}"
        )
        return await self._raise(
            f"{'crisis' if crisis else 'escalation'}|{source}",
            "crisis" if crisis else "escalation",
            {
                "case_id": data["case_id"],
                "case_no": data["case_no"],
                "source_id": source,
                "police_station": station.get("code") if isinstance(station, dict) else station,
                "reason": reason,
            },
        )

    async def trend_report(self, rollups: AsyncCollection, month: str) -> list[dict[str, Any]]:
        """Categories whose cases in `month` exceed the same month a year before (未诉先办)."""
        year, mon = int(month[:4]), int(month[5:7])
        last_year = f"{year - 1:04d}-{mon:02d}"
        this, before = await asyncio.gather(_by_category(rollups, month), _by_category(rollups, last_year))
        rule = self.policy.trend
        out = []
        for category, count in sorted(this.items()):
            base = before.get(category, 0)
            if count >= rule.min_count and count > base * (1 + rule.min_increase):
                increase = round((count - base) / base, 4) if base else None
                out.append(
                    {
                        "category": category,
                        "month": month,
                        "count": count,
                        "last_year": base,
                        "increase": increase,
                    }
                )
        return out

    async def raise_trends(self, rollups: AsyncCollection, today: date) -> int:
        """Raise the trend warnings of the month that ended (once each)."""
        first = today.replace(day=1)
        month = (first - timedelta(days=1)).strftime("%Y-%m")
        raised = 0
        for row in await self.trend_report(rollups, month):
            reason = (
                f"{row['count']} cases of category {row['category']} in {month}, "
                f"{row['last_year']} in the same month a year before"
            )
            raised += await self._raise(
                f"trend|{month}|{row['category']}", "trend", {**row, "reason": reason}
            )
        return raised


async def _by_category(rollups: AsyncCollection, month: str) -> dict[str, int]:
    out: dict[str, int] = {}
    async for row in rollups.find({"period": month}, {"category": 1, "assigned": 1}):
        out[row["category"]] = out.get(row["category"], 0) + int(row.get("assigned") or 0)
    return out
