"""The daily inspection (网巡): compiled each morning, stored, read a page at a time.

A scheduled step (bootstrap: `runtime.every`) compiles the county day's inspection once the county's
morning hour has come: every open case past a limit, every case out of the normal course, every case
stuck between two automatic steps, and every open risk-ledger entry past its limit (排查台账,
services/supervision/ledger.py), with no cap. The report (`inspections`, one per county day) keeps
the counts; its entries (`inspection_items`) are numbered per list, so a list of any length is read
by cursor. One replica compiles: the report is claimed by inserting it; a claim left by a replica
that died is taken over after `STALE_CLAIM`. Once the morning's hour has come, a compiled report is
announced (dispatch.inspection.compiled, its counts only): the announcement is a document of
`inspection_announcements` inserted with its event in its outbox, one per day, so the supervisors
and leaders who act on it are told once whichever replica, retry or restart announces it.
"""

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import derived_event_id, make_event
from services.supervision.adapters.ledger import LedgerBook
from services.supervision.adapters.repository import CaseFiles
from services.supervision.stuck import find_stuck

LISTS = ("overdue", "irregular", "stuck", "ledger")
SOURCE = "/dispatch/supervision"
STALE_CLAIM = timedelta(minutes=30)
BATCH = 500
FIELDS = {
    "case_no": 1,
    "status": 1,
    "lead_unit": 1,
    "overdue_kinds": 1,
    "received_at": 1,
    "assigned_at": 1,
    "reopen_count": 1,
    "tier": 1,
    "confidential": 1,
}


async def _irregular(files: CaseFiles, now: datetime) -> AsyncIterator[dict[str, Any]]:
    """Cases out of the normal course: waiting for people more than a day, or reopened twice."""
    for state, why in (
        ("manual_dispatch", "waiting in the manual queue"),
        ("route_disputed", "waiting for the joint conference"),
    ):
        async for d in files.files.find({"status": state}, FIELDS).sort("_id", 1):
            since = d.get("received_at")
            if since is not None and (now - since).total_seconds() > 86_400:
                yield {**d, "why": f"{why} for more than a day"}
    async for d in files.files.find({"reopen_count": {"$gte": 2}}, FIELDS).sort("_id", 1):
        yield {**d, "why": f"reopened {d['reopen_count']} times"}


@dataclass
class Inspections:
    """The stored inspections and their entries."""

    reports: AsyncCollection
    items: AsyncCollection
    announcements: AsyncCollection

    @classmethod
    def of(cls, db: AsyncDatabase) -> "Inspections":
        """The collections in supervision's database."""
        return cls(db["inspections"], db["inspection_items"], db["inspection_announcements"])

    async def announce(self, report: dict[str, Any], clock: Clock) -> bool:
        """Tell that a compiled report is ready (once per day: False when it was told before)."""
        day = report["_id"]
        data = {"day": day, "compiled_at": report["compiled_at"], "counts": report["counts"]}
        event = make_event(
            type=subjects.INSPECTION_COMPILED,
            source=SOURCE,
            subject=None,
            clock=clock,
            event_id=derived_event_id("supervision", "inspection", day),
            data=data,
        )
        told = await store.insert_aggregate(self.announcements, {"_id": day, **data}, [event])
        await self.reports.update_one({"_id": day}, {"$set": {"announced": True}})
        return told

    async def ensure_indexes(self) -> None:
        """Entries by day and list, in their order."""
        await self.items.create_index([("day", 1), ("list", 1), ("seq", 1)])
        await self.items.create_index("day")
        await self.items.create_index("seq")

    async def report(self, day: date) -> dict[str, Any] | None:
        """The day's report, once compiled."""
        doc = await self.reports.find_one({"_id": day.isoformat(), "state": "ready"})
        return doc

    async def compile(
        self,
        files: CaseFiles,
        *,
        day: date,
        now: datetime,
        stuck_after: timedelta,
        ledger: LedgerBook | None = None,
    ) -> dict[str, Any] | None:
        """Compile the day's inspection unless it is compiled or being compiled; the report, or None
        when another replica has the claim. `ledger`: its open entries past their limit are listed
        too (`ledger`, by entry id)."""
        key = day.isoformat()
        if not await self._claim(key, now):
            return await self.report(day)
        await self.items.delete_many({"day": key})  # what a dead replica left
        counts: dict[str, int] = {}
        confidential: dict[str, int] = {}
        overdue = files.files.find({"overdue_open": True}, FIELDS).sort("_id", 1)
        stuck = await find_stuck(files, now=now, after=stuck_after, limit=None)
        counts["overdue"], confidential["overdue"] = await self._store(key, "overdue", _cursor(overdue))
        counts["irregular"], confidential["irregular"] = await self._store(
            key, "irregular", _irregular(files, now)
        )
        counts["stuck"], confidential["stuck"] = await self._store(key, "stuck", _each(stuck))
        entries = await ledger.overdue_open() if ledger is not None else []
        counts["ledger"], confidential["ledger"] = await self._store(
            key, "ledger", _each(entries), "entry_id"
        )
        done = {"state": "ready", "compiled_at": now, "counts": counts, "confidential_counts": confidential}
        await self.reports.replace_one({"_id": key}, done)  # replaced whole: the datetime stays one
        return await self.report(day)

    async def _claim(self, key: str, now: datetime) -> bool:
        try:
            await self.reports.insert_one({"_id": key, "state": "compiling", "claimed_ms": _ms(now)})
            return True
        except DuplicateKeyError:
            stale = _ms(now - STALE_CLAIM)
            taken = await self.reports.update_one(
                {"_id": key, "state": "compiling", "claimed_ms": {"$lt": stale}},
                {"$set": {"claimed_ms": _ms(now)}},
            )
            return taken.modified_count == 1

    async def _store(
        self, key: str, name: str, source: AsyncIterator[dict[str, Any]], id_field: str = "case_id"
    ) -> tuple[int, int]:
        batch: list[dict[str, Any]] = []
        seq = hidden = 0
        async for doc in source:
            record_id = doc.pop("_id")
            secret = bool(doc.pop("confidential", False))  # every entry says it: readers filter by equality
            entry = {
                "_id": f"{key}|{name}|{record_id}",
                "day": key,
                "list": name,
                "seq": seq,
                id_field: record_id,
            }
            batch.append(entry | doc | {"confidential": secret})
            seq += 1
            hidden += int(secret)
            if len(batch) >= BATCH:
                await store.insert_new(self.items, batch)
                batch = []
        await store.insert_new(self.items, batch)
        return seq, hidden


async def _cursor(found: Any) -> AsyncIterator[dict[str, Any]]:
    async for doc in found:
        yield doc


async def _each(docs: Iterable[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for doc in docs:
        yield doc


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def county_day(now: datetime, tz: ZoneInfo) -> date:
    """The county's date at a moment."""
    return now.astimezone(tz).date()


def due(now: datetime, tz: ZoneInfo, hour: int) -> bool:
    """Whether the county's morning hour of the inspection has come today."""
    return now.astimezone(tz).hour >= hour
