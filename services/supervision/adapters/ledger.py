"""The risk ledger's collection in supervision's database (`ledger_entries`).

An entry is an aggregate: inserted at version 1 with its dispatch.ledger.opened event in its outbox,
then replaced whole under its version guard with each change and its event (dispatch_common/store.py),
which makes the version the entry's ETag and every write a compare-and-set. Times are kept as
datetimes (shown) and as integer milliseconds (queried: `opened_ts`, `due_ts`, `next_alarm_ts`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import store
from dispatch_common.envelope import Envelope
from services.supervision.domain.ledger_figures import PROJECTION

HIDDEN = {"outbox": 0, "outbox_pending": 0, "outbox_written": 0, "alarms_fired": 0}


@dataclass
class LedgerBook:
    """The entries of the risk ledger."""

    entries: AsyncCollection

    @classmethod
    def of(cls, db: AsyncDatabase) -> "LedgerBook":
        """The collection in supervision's database."""
        return cls(db["ledger_entries"])

    async def ensure_indexes(self) -> None:
        """Lists newest first, the scanner's due entries, the entries of a case, the overdue ones."""
        await self.entries.create_index("opened_ts")
        await self.entries.create_index("next_alarm_ts")
        await self.entries.create_index("case_ids")
        await self.entries.create_index("overdue_open")
        await self.entries.create_index("entry_no", unique=True)

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        """The whole entry, outbox included (for a save)."""
        return await self.entries.find_one({"_id": entry_id})

    async def insert(self, doc: dict[str, Any], events: list[Envelope]) -> bool:
        """A new entry with its events; False when one with that id exists (a retried opening)."""
        return await store.insert_aggregate(self.entries, doc, events)

    async def save(
        self, current: dict[str, Any], changes: dict[str, Any], events: list[Envelope]
    ) -> dict[str, Any]:
        """The changes under the version guard (store.VersionConflict when another writer won)."""
        return await store.save_aggregate(self.entries, current, changes, events)

    async def due_for_alarms(self, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """Entries whose next alarm is due, earliest first."""
        found = self.entries.find({"next_alarm_ts": {"$lte": now_ms}}).sort("next_alarm_ts", ASCENDING)
        return [doc async for doc in found.limit(limit)]

    async def overdue_open(self) -> list[dict[str, Any]]:
        """Open entries past their limit, by id (the daily inspection's ledger list)."""
        fields = {"entry_no": 1, "kind": 1, "level": 1, "status": 1, "owner": 1, "place": 1, "due_at": 1}
        found = self.entries.find({"overdue_open": True}, fields).sort("_id", ASCENDING)
        return [doc async for doc in found]

    async def of_case(self, case_id: str) -> list[dict[str, Any]]:
        """The entries a case is linked to."""
        # `$in`, not an equality: the embedded server's equality on an indexed array matches scalars only
        found = self.entries.find({"case_ids": {"$in": [case_id]}}, HIDDEN).sort("opened_ts", 1)
        return [d async for d in found]

    async def for_figures(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        """The entries opened in [start, end), in the figures' projection."""
        window: dict[str, Any] = {"$gte": 0}
        if start is not None:
            window["$gte"] = round(start.timestamp() * 1000)
        if end is not None:
            window["$lt"] = round(end.timestamp() * 1000)
        return [d async for d in self.entries.find({"opened_ts": window}, PROJECTION)]
