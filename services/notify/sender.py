"""The sender: takes due messages of each channel, claims each under the version guard, sends, settles.

One loop per configured channel, so a slow SMS gateway never holds back e-mail. Each loop keeps up
to `SENDER_CONCURRENCY` tries in flight, within the channel's rate limit: a token bucket per process
smooths its sends, and a budget per time window shared by every replica (`adapters/rate_limits.py`)
holds the limit across replicas. A claimed message carries a lease; if its sender dies, `recover`
finds the lease run out and sends it again under the same idempotency key, or, where the channel
cannot recognise a repeat (SMTP), gives it up with the reason rather than risk sending it twice.
"""

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch_common.clock import Clock, as_utc
from dispatch_common.envelope import Envelope
from dispatch_common.store import VersionConflict
from dispatch_common.tasks import cancel_and_wait
from services.notify import metrics
from services.notify.adapters.channels import ChannelAdapter, Outgoing
from services.notify.adapters.rate_limits import SharedRateLimits
from services.notify.adapters.repository import Messages
from services.notify.domain.delivery import Outcome, QuietHours
from services.notify.domain.message import (
    RetryPolicy,
    claim,
    failed_event,
    hold_for_quiet_hours,
    interrupted,
    sent_event,
    settle,
    to_ms,
)
from services.notify.domain.recipients import Directory

log = logging.getLogger("dispatch.notify.sender")


class TokenBucket:
    """At most `rate` messages a second on average, with bursts of up to `rate` (at least one)."""

    def __init__(self, rate: float, now: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self._now = rate, max(1.0, rate), now
        self._tokens, self._at = self.capacity, now()

    def _refill(self) -> None:
        now = self._now()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def available(self) -> int:
        """Whole tokens there are now."""
        self._refill()
        return int(self._tokens)

    def take(self) -> None:
        """Spend one token (callers ask `available` first)."""
        self._refill()
        self._tokens -= 1

    def refill_in(self) -> float:
        """Seconds until the next whole token."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)


@dataclass
class _Settled:
    """A finished try waiting for its outcome to be stored."""

    doc: dict[str, Any]
    changes: dict[str, Any]
    events: list[Envelope]
    attempt: dict[str, Any]
    outcome: Outcome
    now: datetime
    done: "asyncio.Future[None]"


class Sender:
    """Sends the queued messages of every channel that has an adapter."""

    def __init__(
        self,
        *,
        messages: Messages,
        adapters: dict[str, ChannelAdapter],
        directory: Directory,
        clock: Clock,
        policy: RetryPolicy,
        quiet: QuietHours | None,
        timezone: ZoneInfo,
        rates: dict[str, float],
        concurrency: int,
        poll_seconds: float,
        timeout_seconds: float,
        shared: SharedRateLimits | None = None,
        on_events: Callable[[], None] = lambda: None,
    ) -> None:
        self.messages, self.adapters, self.directory, self.clock = messages, adapters, directory, clock
        self.policy, self.quiet, self.tz = policy, quiet, timezone
        self.buckets = {ch: TokenBucket(rates.get(ch, 1000.0)) for ch in adapters}
        self.shared = shared
        self._window_opens: dict[str, float] = {}  # monotonic time the shared budget has room again
        self.concurrency, self.poll, self.timeout = concurrency, poll_seconds, timeout_seconds
        self.on_events = on_events
        self._wake = {ch: asyncio.Event() for ch in adapters}
        self._rng = random.Random()
        self._settling: list[_Settled] = []
        self._settler: asyncio.Task[None] | None = None

    def wake(self, channel: str | None = None) -> None:
        """Look for due messages now (after new messages were recorded)."""
        for ch, event in self._wake.items():
            if channel is None or ch == channel:
                event.set()

    async def run_channel(self, channel: str) -> None:
        """Send a channel's due messages until cancelled; tries in flight are cancelled with it."""
        adapter, bucket, wake = self.adapters[channel], self.buckets[channel], self._wake[channel]
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                wake.clear()
                wait = self.poll
                free = self.concurrency - len(running)
                allowance = min(free, bucket.available())
                closed = self._window_opens.get(channel, 0.0) - time.monotonic()
                if closed > 0:  # the replicas' shared budget is spent until the next window
                    wait, allowance = min(wait, closed), 0
                if allowance > 0:
                    try:
                        taken = await self._take(adapter, channel, allowance, running)
                    except Exception:  # MongoDB away for a moment: keep the tries in flight, look again
                        log.warning("could not take due messages", extra={"channel": channel}, exc_info=True)
                        taken = 0
                    if taken == allowance:
                        wait = 0.0 if allowance == free else bucket.refill_in()  # more may be due now
                elif free > 0:
                    wait = min(wait, bucket.refill_in())
                waiter = asyncio.ensure_future(wake.wait())
                try:
                    done, _ = await asyncio.wait(
                        {*running, waiter}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waiter.cancel()
                running -= done
        finally:
            await cancel_and_wait(running)  # a try that swallowed its cancellation is cancelled again

    async def _take(
        self, adapter: ChannelAdapter, channel: str, allowance: int, running: set[asyncio.Task[None]]
    ) -> int:
        """Claim up to `allowance` due messages (one write for all) within the replicas' shared budget
        and start their tries; how many were claimed or held (fewer than `allowance`: wait a poll)."""
        now = self.clock.now()
        docs = await self.messages.due(channel, to_ms(now), allowance)
        held, claims = [], []
        for doc in docs:
            release = hold_for_quiet_hours(doc["channel"], bool(doc.get("urgent")), now, self.quiet, self.tz)
            if release > now:  # became due in quiet hours (a retry, or a backlog): wait for their end
                held.append((doc, {"due_ts": to_ms(release)}, []))
            else:
                claims.append((doc, claim(uuid.uuid4().hex, now, self.policy), []))
        if claims and self.shared is not None:
            granted = await self.shared.grant(channel, len(claims), now)
            if granted < len(claims):  # the rest stay due: look again when the next window opens
                self._window_opens[channel] = time.monotonic() + self.shared.until_next_window(channel, now)
            claims = claims[:granted]
        claimed = await self.messages.save_many(claims + held)
        lost = 0
        for taken in claimed[: len(claims)]:
            if taken is not None:  # else another sender took it
                self.buckets[channel].take()
                running.add(asyncio.create_task(self._deliver(adapter, taken)))
            else:
                lost += 1
        if lost and self.shared is not None:
            await self.shared.give_back(channel, lost, now)
        return len(claims) + len(held)

    async def _deliver(self, adapter: ChannelAdapter, doc: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._try(adapter, doc)
        except Exception as exc:  # a bug in an adapter must not stop the loop: the message is retried
            log.exception("channel adapter failed", extra={"notification_id": doc["_id"]})
            outcome = Outcome("retry", f"{type(exc).__name__}: {exc}"[:300])
        now = self.clock.now()
        changes = settle(
            doc, outcome, now=now, policy=self.policy, quiet=self.quiet, tz=self.tz, rng=self._rng
        )
        events = []
        if changes["status"] == "sent":
            events.append(sent_event(doc, now, self.clock))
        elif changes["status"] == "dead":
            events.append(failed_event(doc | changes, changes["dead_reason"], now, self.clock))
        attempt = {
            "_id": f"{doc['_id']}:{changes['attempts']}",
            "notification_id": doc["_id"],
            "n": changes["attempts"],
            "at": now,
            "channel": doc["channel"],
            "outcome": outcome.status,
            "reason": outcome.reason,
            "seconds": round(time.perf_counter() - started, 4),
            "next_due_ts": changes.get("due_ts"),
        }
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settling.append(_Settled(doc, changes, events, attempt, outcome, now, done))
        if self._settler is None or self._settler.done():
            self._settler = asyncio.create_task(self._settle_all())
        await done  # the try counts as in flight until its outcome is stored

    async def _settle_all(self) -> None:
        """Store the outcomes of the tries finished so far: their attempts in one insert, the messages
        in one write; again while more finish meanwhile."""
        while self._settling:
            batch, self._settling = self._settling, []
            try:
                await self._store(batch)
            finally:
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)

    async def _store(self, batch: list["_Settled"]) -> None:
        try:
            await self.messages.record_attempts([item.attempt for item in batch])
        except Exception:  # the log of tries is for reading; the message's state is what counts
            log.warning("could not record tries", extra={"count": len(batch)}, exc_info=True)
        for n in range(3):  # the outcome is worth a few tries to store: else the lease brings it back
            try:
                saved = await self.messages.save_many([(i.doc, i.changes, i.events) for i in batch])
                break
            except Exception:
                if n == 2:
                    log.exception("could not store the tries' outcomes", extra={"count": len(batch)})
                    return
                await asyncio.sleep(0.2 * (n + 1))
        owed = False
        for item, state in zip(batch, saved, strict=True):
            if state is None:
                log.warning(
                    "message changed while it was being sent", extra={"notification_id": item.doc["_id"]}
                )
                continue
            self._report(item.doc, item.changes, item.outcome, item.now)
            owed = owed or bool(item.events)
        if owed:
            self.on_events()

    async def _try(self, adapter: ChannelAdapter, doc: dict[str, Any]) -> Outcome:
        address: dict[str, Any] = {}
        if doc["recipient_key"] != "petitioner":
            found = self.directory.address(doc["recipient_key"], doc["channel"])
            if not found:
                missing = f"{doc['recipient_key']} has no {doc['channel']} address any more"
                return Outcome("permanent", missing)
            address = found
        message = Outgoing(
            id=doc["_id"],
            kind=doc["kind"],
            channel=doc["channel"],
            case_id=doc.get("case_id"),
            case_no=doc.get("case_no"),
            subject=doc.get("subject") or "",
            text=doc.get("body") or "",
            html=doc.get("document_html"),
            recipient_key=doc["recipient_key"],
            address=address,
            contact_token=doc.get("contact_token"),
            email_token=doc.get("email_token"),
            lookup_token=doc.get("lookup_token"),
        )
        try:
            async with asyncio.timeout(self.timeout + 5):  # a backstop over the adapter's own timeout
                return await adapter.send(message)
        except TimeoutError:
            return Outcome("retry", "timed out")

    def _report(self, doc: dict[str, Any], changes: dict[str, Any], outcome: Outcome, now: datetime) -> None:
        status = changes["status"]
        metrics.ATTEMPTS.labels(doc["channel"], outcome.status).inc()
        extra = {
            "notification_id": doc["_id"],
            "kind": doc["kind"],
            "channel": doc["channel"],
            "recipient": doc["recipient"],  # masked
            "attempt": changes["attempts"],
        }
        if status == "sent":
            cause = doc.get("cause_time")
            if isinstance(cause, datetime):
                metrics.EVENT_TO_SENT.labels(doc["channel"]).observe((now - as_utc(cause)).total_seconds())
            metrics.MESSAGES.labels(doc["channel"], "sent").inc()
        elif status == "dead":
            metrics.MESSAGES.labels(doc["channel"], "dead").inc()
            log.error("message dead-lettered", extra=extra | {"reason": changes["dead_reason"]})
        else:
            log.warning("send failed; will retry", extra=extra | {"reason": outcome.reason})

    async def recover(self) -> int:
        """Take up messages whose sender stopped mid-try; how many were taken up."""
        now = self.clock.now()
        if self.shared is not None:
            await self.shared.forget_old(now)
        taken = 0
        for doc in await self.messages.interrupted(to_ms(now), 200):
            adapter = self.adapters.get(doc["channel"])
            confirms = adapter.confirms if adapter is not None else True
            changes = interrupted(doc, now=now, confirms=confirms)
            events = []
            if changes["status"] == "dead":
                events.append(failed_event(doc | changes, changes["dead_reason"], now, self.clock))
            with contextlib.suppress(VersionConflict):
                await self.messages.save(doc, changes, events)
                taken += 1
                log.warning(
                    "took up an interrupted message",
                    extra={"notification_id": doc["_id"], "status": changes["status"]},
                )
                if events:
                    metrics.MESSAGES.labels(doc["channel"], "dead").inc()
                    self.on_events()
        if taken:
            self.wake()
        return taken
