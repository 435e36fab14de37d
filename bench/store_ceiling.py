"""The store's own ceiling: how many operations per second the MongoDB server answers, by kind.

Measured on the server the platform uses, in a scratch database, with many operations in flight
(as five services' consumers and requests keep it busy). The kinds are those the platform sends:
`find` (a document by `_id`), `insert`, `update` (a version-guarded replace or a `$set`, as
`store.save_aggregate` and the relay do) and `findAndModify` (the case-number counter). A service's
commands are costed by their kind (`KIND_OF`), which gives the rate of cases the store alone could
carry at the platform's measured mix of commands per case.
"""

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from bench.figures import scratch_database

KINDS = ("find", "insert", "update", "findAndModify")
# What each command the services send costs the store, as one of the measured kinds.
KIND_OF = {
    "find": "find",
    "getMore": "find",
    "aggregate": "find",
    "count": "find",
    "distinct": "find",
    "insert": "insert",
    "bulkWrite": "insert",  # intake's case with its history entry: an ordered two-document insert
    "update": "update",
    "delete": "update",
    "findAndModify": "findAndModify",
}
DOCUMENTS = 2000
PAYLOAD = "事" * 300  # about the size of a case file's text and explanation


async def measure(url: str, *, seconds: float = 2.0, concurrency: int = 32) -> dict[str, float]:
    """Operations per second of each kind, each measured for `seconds` with `concurrency` in flight."""
    async with scratch_database(url, app_name="bench-store-ceiling", prefix="ceiling", drop=True) as db:
        col = db["docs"]
        await col.insert_many([{"_id": i, "version": 1, "text": PAYLOAD, "n": 0} for i in range(DOCUMENTS)])
        serial = itertools.count(DOCUMENTS)
        operations: dict[str, Callable[[], Awaitable[Any]]] = {
            "find": lambda: col.find_one({"_id": random.randrange(DOCUMENTS)}),
            "insert": lambda: col.insert_one({"_id": next(serial), "version": 1, "text": PAYLOAD, "n": 0}),
            "update": lambda: _replace(col),
            "findAndModify": lambda: col.find_one_and_update(
                {"_id": "counter"}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER
            ),
        }
        return {kind: await _rate(operations[kind], seconds, concurrency) for kind in KINDS}


async def _replace(col: AsyncCollection) -> None:
    doc_id = random.randrange(DOCUMENTS)
    await col.replace_one({"_id": doc_id}, {"version": 2, "text": PAYLOAD, "n": doc_id})


async def _rate(operation: Callable[[], Awaitable[Any]], seconds: float, concurrency: int) -> float:
    done = 0
    until = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < until:
            await operation()
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return round(done / (time.monotonic() - started), 1)


def store_bound_rate(commands_per_case: dict[str, float], ceiling: dict[str, float]) -> float | None:
    """Cases per second the store could carry if it did nothing else: one over the store's time per
    case, each command costed at its kind's measured rate."""
    seconds = sum(count / ceiling[KIND_OF.get(name, "find")] for name, count in commands_per_case.items())
    return round(1 / seconds, 1) if seconds > 0 else None
