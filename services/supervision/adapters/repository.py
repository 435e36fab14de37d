"""Supervision's collections: case files (with outbox), the append-only timeline, and the worklist.

The worklist is a projection of the case files: one small document per (unit, case) the unit leads
or assists on, with what a worklist filters and sorts by. It exists because the embedded server
cannot match an element of an array (`assisting_units.code`), and because a unit's list must stay
fast with a million case files: every query is an equality on the unit with a sort on `due_ts`.
It is written after the case file; a crash between the two is repaired by the next save of the
file for the worklist, and `reproject` rebuilds the worklist and the KPI rollups whole.
"""

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import store
from dispatch_common.envelope import Envelope
from services.supervision.domain import findable, kpis
from services.supervision.domain.lifecycle import ON_DESK
from services.supervision.domain.policy import to_ms

OPEN_STATES = ON_DESK
# The worklist's sort key of a line with no deadline pending: after every real one (9999-12-31 UTC), so
# the list pages by one integer that every line has (dispatch_common/paging.py needs a value on each).
NO_DUE = 253_402_300_799_999


def _units(doc: dict[str, Any]) -> dict[str, str]:
    """Unit code -> its role on the case (lead wins over assisting)."""
    out = {u["code"]: "assist" for u in doc.get("assisting_units") or []}
    lead = doc.get("lead_unit")
    if lead:
        out[lead["code"]] = "lead"
    return out


def next_due(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The earliest deadline with alarms that is not met yet."""
    pending = [d for d in doc.get("deadlines") or [] if d.get("alarm") and d.get("met_at") is None]
    return min(pending, key=lambda d: d["due_at"]) if pending else None


def worklist_entry(doc: dict[str, Any], unit: str, role: str) -> dict[str, Any]:
    """One unit's line for a case."""
    due = next_due(doc)
    jurisdiction = doc.get("jurisdiction") or {}
    category = doc.get("category") or {}
    return {
        "_id": f"{unit}|{doc['_id']}",
        "unit": unit,
        "role": role,
        "case_id": doc["_id"],
        "case_no": doc["case_no"],
        "status": doc["status"],
        "open": doc["status"] in OPEN_STATES,
        "due_kind": due["kind"] if due else None,
        "due_at": due["due_at"] if due else None,
        "due_ts": to_ms(due["due_at"]) if due else None,
        "due_key": to_ms(due["due_at"]) if due else NO_DUE,
        "category": category.get("code"),
        "subcategory": category.get("subcode"),
        "town": jurisdiction.get("town"),
        "village": jurisdiction.get("village"),
        "tier": doc.get("tier"),
        "assigned_ts": to_ms(doc.get("assigned_at")),
        "confidential": bool(doc.get("confidential")),
    }


class CaseFiles:
    """The case file of each case, one document per case id."""

    def __init__(self, db: AsyncDatabase) -> None:
        # not "*_files": the embedded server treats that as GridFS (docs/decisions/0006)
        self.files = db["case_dossiers"]
        self.timeline = db["timeline"]
        self.worklist = db["worklist"]
        self.rollups = db["kpi_rollups"]
        self.recommendations = db["recommendations"]

    async def ensure_indexes(self) -> None:
        """Timeline by case in time order; files by next alarm; worklist by unit and due time."""
        await self.timeline.create_index([("case_id", 1), ("time", 1)])
        await self.timeline.create_index("case_id")
        await self.files.create_index("next_alarm_ts")
        # A list walks (unit, open) in `due_key` order in the index from its cursor and stops at its
        # page, however many closed lines the unit has (bench/supervision_queries.py); the line id
        # breaks ties (the embedded server refuses `_id` in a compound index). The embedded server
        # ORs an equality with an array-containment test, which no index serves, unless an index is
        # named after the field: the index on `open` is there for that.
        await self.worklist.create_index([("unit", ASCENDING), ("open", ASCENDING), ("due_key", ASCENDING)])
        await self.worklist.create_index([("unit", ASCENDING), ("due_key", ASCENDING)])
        await self.worklist.create_index("open")
        await self.worklist.create_index("unit")
        await self.worklist.create_index("case_id")
        await self.rollups.create_index("period")
        await self.files.create_index("overdue_open")
        await self.files.create_index("status")
        await self.files.create_index("incident_lead")  # an incident's attached cases (incidents.py)
        await self.recommendations.create_index([("unit", ASCENDING), ("at_ts", ASCENDING)])
        for queue in ("extension_pending_ts", "review_pending_ts", "disputed_ts"):  # supervisors' queues
            await self.files.create_index(queue)
        for field in ("case_no", "received_ts", "unit_codes", "area_codes"):  # the staff search
            await self.files.create_index(field)

    async def backfill_list_keys(self) -> int:
        """Give worklist lines and recommendations written before their lists paged by cursor their
        sort keys (`due_key`, `at_ts`); how many were given one."""
        given = 0
        async for line in self.worklist.find({"due_key": None}, {"due_ts": 1}):
            key = NO_DUE if line.get("due_ts") is None else line["due_ts"]
            await self.worklist.update_one({"_id": line["_id"]}, {"$set": {"due_key": key}})
            given += 1
        async for rec in self.recommendations.find({"at_ts": None}, {"at": 1}):
            await self.recommendations.update_one({"_id": rec["_id"]}, {"$set": {"at_ts": to_ms(rec["at"])}})
            given += 1
        return given

    async def get(self, case_id: str) -> dict[str, Any] | None:
        """A case file by case id."""
        return await self.files.find_one({"_id": case_id})

    async def get_many(self, case_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Case files by case id, in one query (those that exist)."""
        if not case_ids:
            return {}
        if len(case_ids) == 1:
            doc = await self.get(case_ids[0])
            return {doc["_id"]: doc} if doc else {}
        return {doc["_id"]: doc async for doc in self.files.find({"_id": {"$in": case_ids}})}

    async def create(self, doc: dict[str, Any], events: Iterable[Envelope] = ()) -> bool:
        """Create a case file; False if it exists already."""
        return await store.insert_aggregate(self.files, doc, events)

    async def save(
        self, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Envelope] = ()
    ) -> dict[str, Any]:
        """Version-guarded update with events owed; the new state."""
        return await store.save_aggregate(self.files, current, changes, events)

    async def project(self, changes: Iterable[tuple[dict[str, Any] | None, dict[str, Any]]]) -> None:
        """Write the worklist lines of changed case files ((before, after) pairs), and remove those of
        units no longer on a case: new lines in one insert, the others replaced or deleted."""
        lines: list[dict[str, Any]] = []
        gone: list[str] = []
        for before, after in changes:
            now = _units(after)
            lines += [worklist_entry(after, unit, role) for unit, role in now.items()]
            gone += [f"{unit}|{after['_id']}" for unit in set(_units(before or {})) - set(now)]
        for index in await store.insert_new(self.worklist, lines):  # a line the unit has already: it changed
            await self.worklist.replace_one({"_id": lines[index]["_id"]}, lines[index])
        if gone:
            await self.worklist.delete_many({"_id": {"$in": gone}})

    async def roll_up(self, changes: Iterable[tuple[dict[str, str], dict[str, int]]]) -> None:
        """Add counter differences to the KPI rollup rows (created on first use), one update per row."""
        rows: dict[str, tuple[dict[str, str], dict[str, int]]] = {}
        for key, diff in changes:
            _, total = rows.setdefault(kpis.row_id(key), (key, {}))
            for counter, value in diff.items():
                total[counter] = total.get(counter, 0) + value
        updates = [
            UpdateOne({"_id": row}, {"$set": key, "$inc": total}, upsert=True)
            for row, (key, total) in rows.items()
            if any(total.values())
        ]
        if updates:
            await self.rollups.bulk_write(updates, ordered=False)

    async def rollup_rows(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """KPI rollup rows matching a query."""
        return [doc async for doc in self.rollups.find(query, {"_id": 0})]

    async def reproject(self, timezone: Any) -> dict[str, int]:
        """Rebuild the worklist and the KPI rollups from the case files (after a crash or a change of
        their shape). Reads every case file once; run it when the county is quiet."""
        await self.worklist.delete_many({})
        await self.rollups.delete_many({})
        rows: dict[str, tuple[dict[str, str], dict[str, int]]] = {}
        files = 0
        async for doc in self.files.find({}, {"outbox": 0}):
            files += 1
            await self.project([(None, doc)])
            found = findable.derived(doc)  # a file saved before a field existed gets it (no datetimes)
            if any(doc.get(k) != v for k, v in found.items()):
                await self.files.update_one({"_id": doc["_id"], "version": doc["version"]}, {"$set": found})
            for key, diff in kpis.deltas(None, doc, timezone):
                _, total = rows.setdefault(kpis.row_id(key), (key, dict.fromkeys(kpis.COUNTERS, 0)))
                for k, v in diff.items():
                    total[k] += v
        for row_id, (key, total) in rows.items():
            await self.rollups.insert_one({"_id": row_id, **key, **total})
        return {"case_files": files, "rollup_rows": len(rows)}

    async def due_for_alarms(self, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """Case files whose next alarm is due, earliest first."""
        cursor = self.files.find({"next_alarm_ts": {"$lte": now_ms}}).sort("next_alarm_ts", ASCENDING)
        return [doc async for doc in cursor.limit(limit)]

    async def record(self, entry: dict[str, Any]) -> bool:
        """Append one timeline entry; False if this event is on the timeline already."""
        try:
            await self.timeline.insert_one(entry)
        except DuplicateKeyError:
            return False
        return True

    async def record_many(self, entries: list[dict[str, Any]]) -> None:
        """Append timeline entries in one insert; those on the timeline already are left as they are."""
        await store.insert_new(self.timeline, entries)

    async def entries(self, case_id: str) -> list[dict[str, Any]]:
        """A case's timeline, oldest first."""
        cursor = self.timeline.find({"case_id": case_id}).sort([("time", 1), ("seq", 1)])
        return [doc async for doc in cursor]
