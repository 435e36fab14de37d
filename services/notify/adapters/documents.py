"""The archive of formal documents (`documents`), their number sequences (`document_counters`).

A document is inserted once under an id derived from its cause event and type, and never changed:
there is no operation that updates one. Its number comes from a counter per (type, year), taken with
`find_one_and_update` `$inc` and `upsert` (the portable subset, as intake's case numbers). The number
is taken only when the document is not archived yet; a second replica racing on the same event would
take a number the insert then loses (a gap in the sequence, never a duplicate number).
"""

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


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

    async def exists(self, doc_id: str) -> bool:
        """Whether a document is archived (its event was seen before)."""
        return await self.documents.find_one({"_id": doc_id}, {"_id": 1}) is not None

    async def next_seq(self, type_name: str, year: int) -> int:
        """The next number of a type's sequence for a year (1, 2, ...)."""
        counter = await self.counters.find_one_and_update(
            {"_id": f"{type_name}|{year}"},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(counter["seq"])

    async def archive(self, doc: dict[str, Any]) -> bool:
        """Archive a new document; False when it was archived before (same event and type)."""
        try:
            await self.documents.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, doc_id: str) -> dict[str, Any] | None:
        """One archived document, whole."""
        return await self.documents.find_one({"_id": doc_id})

    async def of_event(self, case_id: str, cause_event_id: str) -> list[dict[str, Any]]:
        """The documents one event of a case made (a print-queue item prints them)."""
        cursor = self.documents.find({"cause_event_id": cause_event_id})
        return [d async for d in cursor if d.get("case_id") == case_id]
