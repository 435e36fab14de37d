"""The archive of formal documents (`documents`), their number sequences (`document_counters`).

A document is inserted once under an id derived from its cause event and type, and never changed:
there is no operation that updates one. Its number comes from a counter per (type, year), taken with
`find_one_and_update` `$inc` and `upsert` (the portable subset, as intake's case numbers), a block
of consecutive numbers for a batch's documents of one type and year. Numbers are taken only for
documents not archived yet; a second replica racing on the same event would take a number the insert
then loses (a gap in the sequence, never a duplicate number).
"""

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import store


class Documents:
    """The `documents` archive and its counters."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.documents: AsyncCollection = db["documents"]
        self.counters: AsyncCollection = db["document_counters"]

    async def ensure_indexes(self) -> None:
        """Documents by case (in order), by cause event; the number is unique."""
        d = self.documents
        await d.create_index([("case_id", ASCENDING), ("created_ts", ASCENDING)])
        await d.create_index("case_id")
        await d.create_index("cause_event_id")
        await d.create_index("number", unique=True)

    async def existing(self, doc_ids: list[str]) -> set[str]:
        """Which of these documents are archived already (their events were seen before)."""
        ids = sorted(set(doc_ids))
        if not ids:
            return set()
        query = {"_id": ids[0]} if len(ids) == 1 else {"_id": {"$in": ids}}
        return {d["_id"] async for d in self.documents.find(query, {"_id": 1})}

    async def reserve(self, type_name: str, year: int, count: int = 1) -> int:
        """The first of `count` consecutive numbers of a type's sequence for a year (1, 2, ...)."""
        counter = await self.counters.find_one_and_update(
            {"_id": f"{type_name}|{year}"},
            {"$inc": {"seq": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(counter["seq"]) - count + 1

    async def archive_many(self, docs: list[dict[str, Any]]) -> list[str]:
        """Archive new documents in one insert; the ids archived now (one archived before, by a replica
        racing on the same event, stays as it was and its number is a gap)."""
        lost = set(await store.insert_new(self.documents, docs))
        return [d["_id"] for i, d in enumerate(docs) if i not in lost]

    async def get(self, doc_id: str) -> dict[str, Any] | None:
        """One archived document, whole."""
        return await self.documents.find_one({"_id": doc_id})

    async def of_event(self, case_id: str, cause_event_id: str) -> list[dict[str, Any]]:
        """The documents one event of a case made (a print-queue item prints them)."""
        cursor = self.documents.find({"cause_event_id": cause_event_id})
        return [d async for d in cursor if d.get("case_id") == case_id]
