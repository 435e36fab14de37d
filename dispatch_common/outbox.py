"""The outbox relay: publishes the events aggregates owe, then marks them sent.

Each replica publishes what its own process wrote, handed over in memory (`store.OWED`) without
reading it back; every `poll_seconds` it also sweeps for documents pending longer than
`sweep_grace_seconds` (a replica that crashed, a write by a tool), and at start and stop it drains
everything pending. So replicas do not publish each other's fresh events twice.

A crash between publishing and marking republishes the same ids; JetStream drops them by
`Nats-Msg-Id` within the duplicate window, and consumers skip ids they have applied.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import metrics
from dispatch_common.bus import Bus
from dispatch_common.store import OUTBOX_FIELD, OWED, PENDING_FIELD, WRITTEN_FIELD, now_ms
from dispatch_common.tasks import cancel_and_wait

log = logging.getLogger("dispatch.outbox")


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, on a nudge or every poll interval."""

    def __init__(
        self,
        bus: Bus,
        collections: list[AsyncCollection],
        *,
        poll_seconds: float,
        sweep_grace_seconds: float = 5.0,
        batch: int = 200,
    ) -> None:
        self._bus = bus
        self._collections = collections
        self._poll = poll_seconds
        self._grace_ms = int(sweep_grace_seconds * 1000)
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        for col in collections:
            OWED.watch(col)

    def nudge(self) -> None:
        """Ask the relay to look now (called after a write that added events)."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Publish what this process still owes, then stop (others' documents are theirs)."""
        if self._task:
            await cancel_and_wait([self._task])
        try:
            await self.hand_over()
        except Exception:
            log.warning("final outbox round failed; a sweep or the next start publishes it", exc_info=True)

    async def _run(self) -> None:
        swept = time.monotonic()
        try:
            await self.drain()  # whatever is pending from before this start, whoever wrote it
        except Exception:  # the sweep takes what stays pending
            log.warning("outbox drain at start failed; the sweep takes it", exc_info=True)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()
            try:
                await self.hand_over()
                if time.monotonic() - swept >= self._poll:
                    await self.sweep()
                    swept = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay round failed; retrying on the next round", exc_info=True)

    async def hand_over(self) -> int:
        """Publish what this process wrote since the last round; return how many were published."""
        published = 0
        for col in self._collections:
            owed = OWED.take(col)
            for n, doc in enumerate(owed):
                try:
                    published += await self._publish_document(col, doc)
                except BaseException:
                    for rest in owed[n:]:  # kept for the next round (a newer write of one wins)
                        OWED.add(col, rest["_id"], rest["version"], rest[OUTBOX_FIELD], only_if_absent=True)
                    raise
        return published

    async def sweep(self) -> int:
        """Publish the documents pending longer than the grace: their writer did not (it crashed, or
        it was no relay's process). Fresh documents are left to the replica that wrote them."""
        stale_before = now_ms() - self._grace_ms
        # Selected by the server (an integer range, which the embedded server also runs in SQL), so
        # that many fresh documents of a busy replica never hide a stale one behind the batch limit.
        return await self._drain({PENDING_FIELD: True, WRITTEN_FIELD: {"$lte": stale_before}})

    async def drain(self) -> int:
        """Publish every pending entry once, whoever wrote it (and documents written before entries
        carried `outbox_at`); return how many were published."""
        return await self._drain({PENDING_FIELD: True})

    async def _drain(self, query: dict[str, Any]) -> int:
        published = 0
        pending_docs = 0
        for col in self._collections:
            async for doc in col.find(query, {OUTBOX_FIELD: 1, "version": 1}).limit(self._batch):
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
