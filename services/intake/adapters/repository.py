"""Intake's MongoDB collections: cases (with their outbox) and the case-number counters."""

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import store
from dispatch_common.envelope import Envelope


class CaseRepository:
    """Registered cases, keyed by case id, unique by case number."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.cases = db["cases"]
        self._counters = db["case_counters"]

    async def ensure_indexes(self) -> None:
        """Unique case numbers; lookups by channel and time."""
        await self.cases.create_index([("case_no", 1)], unique=True)
        await self.cases.create_index([("received_at", -1)])

    async def next_case_no(self, *, county: str, year: int) -> str:
        """The next number of the county's year, e.g. 990102-2026-000123; atomic under concurrency."""
        counter = await self._counters.find_one_and_update(
            {"_id": f"{county}-{year}"},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert counter is not None  # upsert with return_document=AFTER always returns the document
        return f"{county}-{year}-{counter['seq']:06d}"

    async def add(self, case: dict[str, Any], events: list[Envelope]) -> None:
        """Store a new case with the events it owes."""
        if not await store.insert_aggregate(self.cases, case, events):
            raise ValueError(f"case {case['_id']} exists already")

    async def get(self, case_id: str) -> dict[str, Any] | None:
        """A case by id."""
        return await self.cases.find_one({"_id": case_id}, {"outbox": 0})
