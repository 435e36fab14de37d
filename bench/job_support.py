"""What the replay benchmarks share: a job document to run the admin job's own work under, in
process, and its progress printed as it goes."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common.clock import FixedClock
from dispatch_common.jobs import Job, Jobs

REPORT_SECONDS = 10


async def scratch_job(db: AsyncDatabase, kind: str, at: datetime) -> Job:
    """A running job of `kind`, stored as `Jobs.start` stores one, without a task of its own."""
    jobs = Jobs(db, kind, runtime=cast(Any, None), clock=FixedClock(at))
    doc = {"_id": uuid.uuid4().hex, "status": "running", "progress": {}, "started_at": at, "updated_at": at}
    await jobs.docs.insert_one(doc)
    return Job(jobs, doc)


@asynccontextmanager
async def progress_shown(job: Job, counts: str) -> AsyncIterator[None]:
    """Print the job's progress and rate every REPORT_SECONDS while the block runs."""
    t0 = time.perf_counter()

    async def report() -> None:
        while True:
            await asyncio.sleep(REPORT_SECONDS)
            p = job.doc["progress"]
            rate = p.get("done", 0) / (time.perf_counter() - t0)
            print(f"replayed {p.get('done', 0):,} of {p.get('total')} {counts} ({rate:,.0f}/s)", flush=True)

    task = asyncio.create_task(report())
    try:
        yield
    finally:
        task.cancel()
