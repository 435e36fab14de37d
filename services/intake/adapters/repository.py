"""Intake's MongoDB collections: cases (with their outbox), case-number counters, the PII audit log."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import paging, store
from dispatch_common.envelope import Outgoing

NO_OUTBOX = {"outbox": 0}


class CaseRepository:
    """Registered cases, keyed by case id, unique by case number and by external reference."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.cases = db["cases"]
        self._counters = db["case_counters"]
        self._audit = db["pii_audit"]

    async def ensure_indexes(self) -> None:
        """Unique case numbers and external references; lookups by time and screening queue."""
        await self.cases.create_index([("case_no", 1)], unique=True)
        await self.cases.create_index([("received_at", -1)])
        await self.cases.create_index([("screening.outcome", 1), ("received_at", 1)])
        await self.cases.create_index("screening.outcome")  # the embedded server's planner: single fields
        await self._audit.create_index([("case_id", 1), ("at", 1)])

    async def ensure_open311_indexes(self) -> None:
        """Open311 lists: the requests of the door (single fields, for the embedded server's planner)."""
        await self.cases.create_index([("door", 1), ("received_at", -1)])
        await self.cases.create_index([("door", 1)])

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

    async def add(
        self,
        case: dict[str, Any],
        events: list[Outgoing],
        along: Sequence[tuple[AsyncCollection, dict[str, Any]]] = (),
    ) -> bool:
        """Store a new case with the events it owes, and `along` it other documents (its history
        entry) in the same round trip; False if a case with that id exists (a retry)."""
        return await store.insert_aggregate(self.cases, case, events, along=along)

    async def get(self, case_id: str) -> dict[str, Any] | None:
        """A case by id, without its outbox."""
        return await self.cases.find_one({"_id": case_id}, NO_OUTBOX)

    async def get_versioned(self, case_id: str) -> dict[str, Any] | None:
        """A case by id with what a versioned update needs."""
        return await self.cases.find_one({"_id": case_id})

    async def save(
        self, current: dict[str, Any], changes: dict[str, Any], events: list[Outgoing]
    ) -> dict[str, Any]:
        """Version-guarded update with the events it owes; the new state (store.VersionConflict when
        the case is no longer at `current`'s version)."""
        return await store.save_aggregate(self.cases, current, changes, events)

    async def save_many(
        self, items: list[tuple[dict[str, Any], dict[str, Any], list[Outgoing]]]
    ) -> list[dict[str, Any] | None]:
        """`save` for several cases in one write; None for each that changed meanwhile."""
        return await store.save_aggregates(self.cases, items)

    async def note_assignment(self, case_id: str, assignment: dict[str, Any], *, seq: int) -> bool:
        """Set the assignment of a case nobody outside follows, unless a later one was noted; False
        when the case is followed, noted later, or stored before `tracked` existed (read it whole)."""
        result = await self.cases.update_one(
            {"_id": case_id, "tracked": False, "assign_seq": {"$lt": seq}},
            {"$set": {"assignment": assignment, "assign_seq": seq}},
        )
        return result.matched_count == 1

    async def followed(self, case_id: str) -> dict[str, Any] | None:
        """A case someone outside follows (a feed, an Open311 client), whole; None otherwise."""
        return await self.cases.find_one({"_id": case_id, "tracked": True})

    @staticmethod
    def screening_query(extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The cases waiting for a person to screen them (`extra`: more conditions); listed oldest
        first by `received_at`, which every case has."""
        return {"screening.outcome": "manual", **(extra or {})}

    async def audit_unmasked_read(
        self, *, case_id: str, subject: str, role: str, fields: list[str], at: datetime, reason: str | None
    ) -> None:
        """Write who read which personal data of which case, and why (append-only)."""
        await self._audit.insert_one(
            {
                "case_id": case_id,
                "subject": subject,
                "role": role,
                "fields": fields,
                "at": at,
                "reason": reason,
            }
        )

    async def audit_entries(self, case_id: str, limit: int, cursor: str | None) -> paging.Page:
        """The unmasked reads of a case, oldest first, a page after `cursor`."""
        query = {"case_id": case_id}  # every entry has its `at`
        return await paging.page_or_422(self._audit, query, sort="at", limit=limit, cursor=cursor)
