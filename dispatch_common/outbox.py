"""The outbox relay: publishes the events aggregates owe, then marks them sent.

A crash between publishing and marking republishes the same ids; JetStream drops them by
`Nats-Msg-Id` within the duplicate window, and consumers skip ids they have applied.
"""

import asyncio
import contextlib
import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import metrics
from dispatch_common.bus import Bus
from dispatch_common.store import OUTBOX_FIELD, PENDING_FIELD

log = logging.getLogger("dispatch.outbox")


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, on a nudge or every poll interval."""

    def __init__(
        self, bus: Bus, collections: list[AsyncCollection], *, poll_seconds: float, batch: int = 200
    ) -> None:
        self._bus = bus
        self._collections = collections
        self._poll = poll_seconds
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        """Ask the relay to look now (called after a write that added events)."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Publish what is pending once more, then stop."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.drain()
        except Exception:
            log.warning("final outbox drain failed; the next start publishes it", exc_info=True)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox drain failed; retrying on the next round", exc_info=True)

    async def drain(self) -> int:
        """Publish every pending entry once; return how many were published."""
        published = 0
        pending_docs = 0
        for col in self._collections:
            cursor = col.find({PENDING_FIELD: True}, {OUTBOX_FIELD: 1, "version": 1}).limit(self._batch)
            async for doc in cursor:
                pending_docs += 1
                published += await self._publish_document(col, doc)
        metrics.OUTBOX_PENDING.labels(self._bus.service).set(pending_docs)
        return published

    async def _publish_document(self, col: AsyncCollection, doc: dict[str, Any]) -> int:
        entries = doc.get(OUTBOX_FIELD) or []
        for entry in entries:  # in order: an aggregate's events keep their order on the stream
            await self._bus.publish_event(entry["event"], trace_headers=entry.get("headers"))
        ids = [e["id"] for e in entries]
        cleared = await col.update_one(
            {"_id": doc["_id"], "version": doc["version"]},
            {"$set": {OUTBOX_FIELD: [], PENDING_FIELD: False}},
        )
        if cleared.matched_count == 0 and ids:
            # The aggregate moved on meanwhile and may owe new events: remove only what went out.
            await col.update_one({"_id": doc["_id"]}, {"$pull": {OUTBOX_FIELD: {"id": {"$in": ids}}}})
        return len(entries)
