"""Long jobs an admin starts over HTTP and follows: a job document with its progress and result, and
the items it finds, stored as it goes so that any replica answers and a page costs what it shows.

A job runs on the replica that took the request, as a task the runtime cancels on stop. Its document
is replaced whole at each step (no `$set` of datetimes at the top level, which the embedded server
keeps as strings); items are inserted in batches with a sequence number, the order pages follow.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import HTTPException, status
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import paging
from dispatch_common.clock import Clock
from dispatch_common.runtime import Runtime

log = logging.getLogger("dispatch.jobs")


class Job:
    """One running job: its document (`doc`), updated by the work and stored by `save`."""

    def __init__(self, jobs: "Jobs", doc: dict[str, Any]) -> None:
        self.jobs, self.doc = jobs, doc
        self.items = 0

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    def progress(self, done: int, total: int | None, *, estimated_total: int | None = None) -> None:
        """How far the work is (saved with the next `save`): `total` when known, else an estimate."""
        self.doc["progress"] = {"done": done, "total": total}
        if estimated_total is not None:
            self.doc["progress"]["estimated_total"] = estimated_total

    async def add_items(self, items: list[dict[str, Any]]) -> None:
        """Store items the job found, numbered in the order they came."""
        if not items:
            return
        docs = []
        for item in items:
            docs.append({**item, "_id": f"{self.id}:{self.items:09d}", "job_id": self.id, "seq": self.items})
            self.items += 1
        await self.jobs.items.insert_many(docs, ordered=False)

    async def save(self) -> None:
        self.doc["items"] = self.items
        self.doc["updated_at"] = self.jobs.clock.now()
        await self.jobs.docs.replace_one({"_id": self.doc["_id"]}, self.doc)


Work = Callable[[Job], Awaitable[dict[str, Any]]]


class Jobs:
    """The jobs of one kind (e.g. `replays`): their documents and their items' collection."""

    def __init__(self, db: AsyncDatabase, kind: str, *, runtime: Runtime, clock: Clock) -> None:
        self.docs: AsyncCollection = db[kind]
        self.items: AsyncCollection = db[f"{kind}_items"]
        self.kind, self.runtime, self.clock = kind, runtime, clock

    async def ensure_indexes(self) -> None:
        await self.items.create_index("job_id")
        await self.items.create_index("seq")
        await self.docs.create_index("started_at")

    async def start(self, work: Work, **facts: Any) -> dict[str, Any]:
        """Store a new running job with these facts and run `work` in the background; its document.

        `work` returns the result, stored with status `done`; an exception fails the job with its
        message (logged in full), and a stop of the service leaves it `cancelled`."""
        now = self.clock.now()
        doc: dict[str, Any] = {
            "_id": uuid.uuid4().hex,
            **facts,
            "status": "running",
            "progress": {"done": 0, "total": None},
            "items": 0,
            "result": None,
            "error": None,
            "started_at": now,
            "updated_at": now,
            "finished_at": None,
        }
        await self.docs.insert_one(doc)
        job = Job(self, doc)
        task = asyncio.create_task(self._run(job, work), name=f"{self.kind}-{job.id}")
        self.runtime.adopt(task)
        return dict(doc)

    async def _run(self, job: Job, work: Work) -> None:
        try:
            result = await work(job)
            job.doc |= {"status": "done", "result": result}
        except asyncio.CancelledError:
            job.doc |= {"status": "cancelled", "error": "the service stopped during the job"}
            await asyncio.shield(self._finish(job))
            raise
        except Exception as exc:
            log.exception("job failed", extra={"kind": self.kind, "job": job.id})
            job.doc |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        await self._finish(job)

    async def _finish(self, job: Job) -> None:
        job.doc["finished_at"] = self.clock.now()
        await job.save()

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return await self.docs.find_one({"_id": job_id})

    async def found(self, job_id: str, what: str) -> dict[str, Any]:
        """A job by id for the API: `404` naming `what` it is when there is none."""
        doc = await self.get(job_id)
        if doc is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what} {job_id}")
        return doc

    @staticmethod
    def done(doc: dict[str, Any]) -> dict[str, Any]:
        """A job that has finished well, for acting on its result (`409` while it runs, or if it failed)."""
        if doc["status"] != "done":
            raise HTTPException(status.HTTP_409_CONFLICT, f"replay {doc['_id']} is {doc['status']}, not done")
        return doc

    @staticmethod
    def elapsed(doc: dict[str, Any]) -> float:
        """Seconds from the job's start to its end (or its last step)."""
        end: datetime = doc.get("finished_at") or doc["updated_at"]
        return max(0.0, (end - doc["started_at"]).total_seconds())

    @classmethod
    def view(cls, doc: dict[str, Any], facts: tuple[str, ...]) -> dict[str, Any]:
        """A stored job as an API shows it: its id, the `facts` it started with, its status, progress
        and rate (`cases_per_second`), the items found so far (`differences`), result and error."""
        elapsed = cls.elapsed(doc)
        done = doc["progress"]["done"]
        return {
            "id": doc["_id"],
            **{k: doc[k] for k in ("status", *facts, "progress", "started_at", "updated_at", "finished_at")},
            "differences": doc.get("items", 0),
            "elapsed_seconds": round(elapsed, 3),
            "cases_per_second": round(done / elapsed, 1) if elapsed > 0 and done else None,
            "result": doc.get("result"),
            "error": doc.get("error"),
        }

    async def items_page(self, doc: dict[str, Any], *, cursor: str | None, limit: int) -> dict[str, Any]:
        """A page of a job's items in the order found (`paging.py`: `422` for a bad cursor)."""
        found = await paging.page_or_422(
            self.items, {"job_id": doc["_id"], "seq": {"$gte": 0}}, sort="seq", limit=limit, cursor=cursor
        )
        return {"items": found.items, "next_cursor": found.next_cursor, "total": doc.get("items", 0)}


Step = Callable[[list[dict[str, Any]]], Awaitable[None]]


async def in_batches(
    found: AsyncCursor[dict[str, Any]],
    size: int,
    step: Step,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Hand a cursor's documents (those `keep` keeps) to `step`, `size` at a time."""
    batch: list[dict[str, Any]] = []
    async for doc in found.batch_size(size):
        if keep is not None and not keep(doc):
            continue
        batch.append(doc)
        if len(batch) >= size:
            await step(batch)
            batch = []
    if batch:
        await step(batch)
