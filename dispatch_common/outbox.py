"""The outbox relay: publishes the events aggregates owe, then marks them sent.

Each replica publishes what its own process wrote, handed over in memory (`store.OWED`) without
reading it back; every `poll_seconds` it also sweeps for documents pending longer than
`sweep_grace_seconds` (a replica that crashed, a write by a tool), and at start and stop it drains
everything pending. So replicas do not publish each other's fresh events twice.

Under load a round waits `linger_seconds` first, so that it takes several documents, and marks them
sent in one bulk write of at most `MARK_BATCH` updates (a bound on how long one write holds a server
that runs one operation at a time, as the embedded one does).

With `mark_delay_seconds` the relay marks later: what it published waits in memory
(dispatch_common/outbox_marks.py) and is marked in one bulk write for everything that gathered in that
time, or at once when `MARK_BATCH` documents wait; a document written again meanwhile is not published
twice. Stopping marks what waits.

A crash between publishing and marking republishes the same ids; JetStream drops them by
`Nats-Msg-Id` within the duplicate window, and consumers skip ids they have applied.

A round that fails (NATS away, a stream electing its leader) is retried after a back-off that doubles
from `BACKOFF_FIRST_SECONDS` up to `BACKOFF_MAX_SECONDS` and ignores nudges meanwhile, so a busy
service does not hammer a server that cannot take its events; the first success resets it.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import metrics
from dispatch_common.bus import Bus
from dispatch_common.outbox_marks import Unmarked
from dispatch_common.store import OUTBOX_FIELD, OWED, PENDING_FIELD, WRITTEN_FIELD, now_ms
from dispatch_common.tasks import cancel_and_wait

log = logging.getLogger("dispatch.outbox")
MARK_BATCH = 32
BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0


def backoff_seconds(failures: int) -> float:
    """How long the relay waits after its `failures`-th failed round in a row (1, 2, ...)."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, failures - 1))


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, on a nudge or every poll interval."""

    def __init__(
        self,
        bus: Bus,
        collections: list[AsyncCollection],
        *,
        poll_seconds: float,
        sweep_grace_seconds: float = 5.0,
        linger_seconds: float = 0.0,
        mark_delay_seconds: float = 0.0,
        batch: int = 200,
    ) -> None:
        self._bus = bus
        self._collections = collections
        self._poll = poll_seconds
        self._grace_ms = int(sweep_grace_seconds * 1000)
        self._batch = batch
        self._linger = linger_seconds
        self._mark_delay = mark_delay_seconds
        self._unmarked = Unmarked()  # published, to be marked sent within the delay
        self._by_name = {col.full_name: col for col in collections}
        self._busy = False  # the last round had more than one document
        self.in_flight = 0  # events taken from OWED by the round under way, not yet marked sent
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
            await self.mark_published()
        except Exception:
            log.warning("final outbox round failed; a sweep or the next start publishes it", exc_info=True)

    async def _run(self) -> None:
        swept = time.monotonic()
        try:
            await self.drain()  # whatever is pending from before this start, whoever wrote it
        except Exception:  # the sweep takes what stays pending
            log.warning("outbox drain at start failed; the sweep takes it", exc_info=True)
        failures = 0
        while True:
            if failures:
                await asyncio.sleep(backoff_seconds(failures))  # nudges wait too: NATS cannot take them
            else:
                marks_due = self._unmarked.wait(self._mark_delay)
                timeout = self._poll if marks_due is None else min(self._poll, marks_due)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            if self._busy and self._linger:
                await asyncio.sleep(self._linger)  # more writes join this round
            self._wake.clear()
            try:
                await self.hand_over()
                if self._unmarked.due(self._mark_delay) or len(self._unmarked) >= MARK_BATCH:
                    await self.mark_published()
                if failures or time.monotonic() - swept >= self._poll:
                    await self.sweep()
                    swept = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self._bus.service).inc()
                log.warning(
                    "outbox relay round failed; backing off",
                    extra={"failures": failures, "delay": backoff_seconds(failures), "error": repr(exc)},
                    exc_info=failures == 1,
                )
                continue
            if failures:
                log.info("outbox relay publishes again", extra={"after_failures": failures})
            failures = 0

    async def hand_over(self) -> int:
        """Publish what this process wrote since the last round; return how many were published."""
        published = 0
        documents = 0
        for col in self._collections:
            owed = OWED.take(col)
            documents += len(owed)
            if not owed:
                continue
            marked: list[dict[str, Any]] = []
            taken = sum(len(doc[OUTBOX_FIELD]) for doc in owed)
            self.in_flight += taken
            try:
                published += await self._relay(col, owed, marked)
            except BaseException:
                for doc in owed[len(marked) :]:  # kept for the next round (a newer write of one wins)
                    OWED.add(col, doc["_id"], doc["version"], doc[OUTBOX_FIELD], only_if_absent=True)
                raise
            finally:
                self.in_flight -= taken
        self._busy = documents > 1
        return published

    async def mark_published(self) -> int:
        """Mark sent what was published and left to mark later; how many documents."""
        marked = 0
        for name, docs in self._unmarked.take().items():
            col = self._by_name[name]
            for start in range(0, len(docs), MARK_BATCH):
                chunk = docs[start : start + MARK_BATCH]
                try:
                    await self._mark_sent(col, chunk)
                except BaseException:
                    self._unmarked.give_back(name, docs[start:])
                    raise
                marked += len(chunk)
        return marked

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
            found = await col.find(query, {OUTBOX_FIELD: 1, "version": 1}).limit(self._batch).to_list()
            pending_docs += len(found)
            if found:
                published += await self._relay(col, found)
        metrics.OUTBOX_PENDING.labels(self._bus.service).set(pending_docs)
        return published

    async def _relay(
        self, col: AsyncCollection, docs: list[dict[str, Any]], marked: list[dict[str, Any]] | None = None
    ) -> int:
        """Publish the documents' entries, in order, and mark them sent (appending them to `marked`, in
        order, as they are); return how many entries went out."""
        published = 0
        for start in range(0, len(docs), MARK_BATCH):
            chunk = docs[start : start + MARK_BATCH]
            published += await self._publish(col, chunk)
            if self._mark_delay:
                self._unmarked.keep(col.full_name, chunk)
            else:
                await self._mark_sent(col, chunk)
            if marked is not None:
                marked.extend(chunk)
        return published

    async def _publish(self, col: AsyncCollection, docs: list[dict[str, Any]]) -> int:
        """Publish the documents' entries: the documents side by side, each one's entries in order.

        Side by side, a round's publishes share the connection's writes and their acknowledgements
        come back together, instead of one round trip per event. One after another within a document,
        an aggregate's later event never goes out before an earlier one that failed. If any failed, the
        round fails once all have finished, and nothing of it is marked sent (JetStream drops the ids
        that went out when they are published again).
        """
        skips = [self._unmarked.skip(col.full_name, d["_id"]) for d in docs]
        if len(docs) == 1:
            return await self._publish_in_order(docs[0], skips[0])
        results = await asyncio.gather(
            *(self._publish_in_order(d, skip) for d, skip in zip(docs, skips, strict=True)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(results)  # type: ignore[arg-type]  # all ints once none is an exception

    async def _publish_in_order(self, doc: dict[str, Any], skip: frozenset[str] = frozenset()) -> int:
        entries = [e for e in doc.get(OUTBOX_FIELD) or [] if e["id"] not in skip]  # skip: published, unmarked
        for entry in entries:
            await self._bus.publish_event(
                entry["event"], trace_headers=entry.get("headers"), subject=entry.get("subject")
            )
        return len(entries)

    async def _mark_sent(self, col: AsyncCollection, docs: list[dict[str, Any]]) -> None:
        """Clear the outboxes of published documents, guarded by the version each was read at."""
        sent = {OUTBOX_FIELD: [], PENDING_FIELD: False}
        if len(docs) == 1:  # the quiet case: one update, as cheap as it gets
            doc = docs[0]
            cleared = await col.update_one({"_id": doc["_id"], "version": doc["version"]}, {"$set": sent})
            matched = cleared.matched_count
        else:
            marked = await col.bulk_write(
                [UpdateOne({"_id": d["_id"], "version": d["version"]}, {"$set": sent}) for d in docs],
                ordered=False,
            )
            matched = marked.matched_count
        if matched == len(docs):
            return
        # Some aggregates moved on meanwhile and may owe new events: remove only what went out. A document
        # that was cleared above has nothing left to remove, so this changes nothing there.
        for doc in docs:
            ids = [e["id"] for e in doc.get(OUTBOX_FIELD) or []]
            if ids:
                await col.update_one({"_id": doc["_id"]}, {"$pull": {OUTBOX_FIELD: {"id": {"$in": ids}}}})
