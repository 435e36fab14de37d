"""Supervision's collections: case files (with outbox) and the append-only timeline."""

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import store
from dispatch_common.envelope import Envelope


class CaseFiles:
    """The case file of each case, one document per case id."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.files = db[
            "case_dossiers"
        ]  # not "*_files": the embedded server treats that as GridFS (docs/decisions/0006)
        self.timeline = db["timeline"]

    async def ensure_indexes(self) -> None:
        """Timeline read by case in time order; case files by lead unit and status."""
        await self.timeline.create_index([("case_id", 1), ("time", 1)])
        await self.files.create_index([("lead_unit.code", 1), ("status", 1)])

    async def get(self, case_id: str) -> dict[str, Any] | None:
        """A case file by case id."""
        return await self.files.find_one({"_id": case_id})

    async def create(self, doc: dict[str, Any], events: Iterable[Envelope] = ()) -> bool:
        """Create a case file; False if it exists already."""
        return await store.insert_aggregate(self.files, doc, events)

    async def save(
        self, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Envelope] = ()
    ) -> None:
        """Version-guarded update with events owed."""
        await store.save_aggregate(self.files, current, changes, events)

    async def record(self, entry: dict[str, Any]) -> bool:
        """Append one timeline entry; False if this event is on the timeline already."""
        try:
            await self.timeline.insert_one(entry)
        except DuplicateKeyError:
            return False
        return True

    async def entries(self, case_id: str) -> list[dict[str, Any]]:
        """A case's timeline, oldest first."""
        cursor = self.timeline.find({"case_id": case_id}).sort([("time", 1), ("seq", 1)])
        return [doc async for doc in cursor]
