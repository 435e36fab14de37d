"""The data pool's collections: `pool_batches` (one document per import, kept for good) and
`pool_facts` (the facts of the batches, one document per fact and key, found by a person's keyed hash).

An import inserts its batch as `importing`, then its facts, then marks it `active`; a profile shows
only the facts of active batches, so a crash part-way shows nothing of that batch. A withdrawal
marks the batch `withdrawn` (who, when, why: compare-and-set on its revision) and then deletes its
facts; the batch document stays. Each source's batches are numbered 1, 2, 3... (`version`).
"""

import asyncio
import uuid
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import paging

BATCHES = "pool_batches"
FACTS = "pool_facts"
COUNTERS = "pool_versions"


class DataPool:
    """Import, list, withdraw batches; find the facts of a person's keys."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.batches = db[BATCHES]
        self.facts = db[FACTS]
        self._versions = db[COUNTERS]

    async def ensure_indexes(self) -> None:
        """Facts by key and by batch; batches by import time."""
        await self.facts.create_index("key")
        await self.facts.create_index("batch_id")
        await self.batches.create_index("imported_ts")

    async def next_version(self, source: str) -> int:
        """The next batch number of a source (atomic under concurrency)."""
        counter = await self._versions.find_one_and_update(
            {"_id": source}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counter is not None
        return int(counter["seq"])

    async def add(self, batch: dict[str, Any], facts: list[dict[str, Any]]) -> dict[str, Any]:
        """Store a batch and its facts; it is shown in profiles once all its facts are in."""
        batch = {**batch, "_id": f"pb-{uuid.uuid4().hex[:16]}", "status": "importing", "revision": 1}
        batch["version"] = await self.next_version(batch["source"])
        await self.batches.insert_one(batch)
        prefix = batch["_id"]
        facts = [
            {**f, "_id": f"{prefix}:{f['_id']}", "fact": f"{prefix}:{f['fact']}", "batch_id": prefix}
            for f in facts
        ]
        if facts:
            await self.facts.insert_many(facts, ordered=False)
        await self.batches.update_one({"_id": batch["_id"]}, {"$set": {"status": "active", "revision": 2}})
        return {**batch, "status": "active", "revision": 2}

    async def get(self, batch_id: str) -> dict[str, Any] | None:
        """A batch by id."""
        return await self.batches.find_one({"_id": batch_id})

    async def withdraw(self, batch: dict[str, Any], *, by: dict[str, Any], at: datetime, reason: str) -> bool:
        """Withdraw an active batch (compare-and-set on its revision) and delete its facts; False when
        the batch changed meanwhile."""
        done = await self.batches.update_one(
            {"_id": batch["_id"], "revision": batch["revision"], "status": "active"},
            {
                "$set": {
                    "status": "withdrawn",
                    "revision": batch["revision"] + 1,
                    "withdrawal": {**by, "at": at, "reason": reason},
                }
            },
        )
        if done.matched_count != 1:
            return False
        await self.facts.delete_many({"batch_id": batch["_id"]})
        return True

    async def page(self, *, limit: int, cursor: str | None) -> paging.Page:
        """Batches, newest first."""
        query = {"imported_ts": {"$gte": 0}}
        return await paging.page_or_422(
            self.batches, query, sort="imported_ts", descending=True, limit=limit, cursor=cursor
        )

    async def facts_of(self, keys: tuple[str, ...]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The facts of active batches recorded under any of the keys, each with its batch."""
        found = await asyncio.gather(
            *(self.facts.find({"key": key}).to_list() for key in dict.fromkeys(keys))
        )
        facts = list(
            {f["fact"]: f for batch in found for f in batch}.values()
        )  # a row found by two keys once
        batch_ids = sorted({f["batch_id"] for f in facts})
        batches = await asyncio.gather(*(self.get(b) for b in batch_ids))
        active = {b["_id"]: b for b in batches if b is not None and b["status"] == "active"}
        return [(f, active[f["batch_id"]]) for f in facts if f["batch_id"] in active]
