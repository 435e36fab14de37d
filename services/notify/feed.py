"""Outcome feeds as signed webhooks, for systems that cannot hold a NATS connection.

For each feed the recipients file gives a webhook (`feed_webhooks`: a system's id, or open311.<client>),
notify reads the feed from its own durable consumer on the feed's outcome stream, one event at a time
(`max_ack_pending` 1), and POSTs each event as a CloudEvent in the structured mode of the HTTP binding
(`Content-Type: application/cloudevents+json`), signed like every webhook of notify (HMAC-SHA256 over
`<timestamp>.<body>`, `X-Dispatch-Signature`, `X-Dispatch-Timestamp`) with the event id as
`Idempotency-Key`. The next event waits until this one is taken, so a receiver hears a case's outcomes
in order. While the receiver is away (a network error, a 5xx, 408, 425 or 429) the same event is tried
again, waiting as notify's back-off says (doubling up to DELIVERY_BACKOFF_MAX_SECONDS), for as long as
the stream keeps it: a system offline for a day hears the day when it is back. A receiver that refuses
an event outright (another 4xx) dead-letters it as notify does, `dead` with the reason and
`dispatch.notification.failed`, and the feed moves on. Each delivered or dead event is recorded as a
notification of kind `outcome` (GET /v1/notifications?case_id=...), without `dispatch.notification.sent`:
the feed is not part of the case's timeline.
"""

import asyncio
import contextlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from dispatch_common import nats_connect, subjects
from dispatch_common.envelope import Envelope
from dispatch_common.nats_permissions import feed_consumer
from dispatch_common.streams import ensure_consumer
from services.notify import metrics
from services.notify.adapters.channels import post_signed
from services.notify.domain.delivery import Outcome, backoff_seconds
from services.notify.domain.message import failed_event, message_id, to_ms

if TYPE_CHECKING:
    from services.notify.container import Notify

log = logging.getLogger("dispatch.notify.feed")

CLOUDEVENT_JSON = "application/cloudevents+json; charset=utf-8"
ACK_WAIT_SECONDS = 30.0
KEEP_ALIVE_SECONDS = 10.0  # while waiting to try again, the event is kept ours this often
FETCH_WAIT_SECONDS = 5.0
KIND = "outcome"


def record(event: Envelope, feed: str, outcome: Outcome, attempts: int, now: datetime) -> dict[str, Any]:
    """The notification a delivered or dead outcome webhook leaves (for reading, not for sending)."""
    delivered = outcome.status == "delivered"
    return {
        "_id": message_id(event.id, KIND, f"feed:{feed}", "webhook"),
        "case_id": event.subject,
        "case_no": event.data.get("case_no"),
        "kind": KIND,
        "level": event.type,
        "audience": "system",
        "channel": "webhook",
        "recipient": f"feed {feed}",
        "recipient_key": f"feed:{feed}",
        "channel_reason": None,
        "contact_token": None,
        "email_token": None,
        "urgent": False,
        "subject": event.type,
        "body": "",
        "document_html": None,
        "segments": None,
        "truncated": False,
        "template_version": None,
        "inbox_owner": None,
        "read": None,
        "read_at": None,
        "status": "sent" if delivered else "dead",
        "attempts": attempts,
        "due_ts": None,
        "lease_ts": None,
        "claim": None,
        "created_at": now,
        "created_ts": to_ms(now),
        "sent_at": now if delivered else None,
        "last_error": None if delivered else outcome.reason,
        "dead_reason": None if delivered else f"refused: {outcome.reason}",
        "cause_event_id": event.id,
        "cause_type": event.type,
        "cause_time": event.time,
        "confidential": False,
    }


@dataclass
class FeedPusher:
    """Delivers one feed to its webhook, in order, an event at a time."""

    feed: str
    notify: "Notify"

    def consumer_config(self) -> ConsumerConfig:
        """Notify's durable consumer of the feed: one event out at a time, retried by notify itself."""
        reads = feed_consumer(self.feed)
        assert isinstance(reads.subject, str)
        return ConsumerConfig(
            durable_name=reads.durable,
            name=reads.durable,
            filter_subject=reads.subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=1,
            ack_wait=ACK_WAIT_SECONDS,
            max_deliver=-1,
        )

    async def run(self) -> None:
        """Deliver the feed until cancelled (runtime.every starts it again if it fails)."""
        reads = feed_consumer(self.feed)
        bus = self.notify.runtime.bus
        js = bus.broker.config.connection_state.stream
        await ensure_consumer(js, reads.stream, self.consumer_config())
        inbox = f"{nats_connect.service_inbox(self.notify.settings)}.".encode()
        sub = await js.pull_subscribe_bind(durable=reads.durable, stream=reads.stream, inbox_prefix=inbox)
        try:
            while True:
                try:
                    msgs = await sub.fetch(1, timeout=FETCH_WAIT_SECONDS)
                except (NatsTimeoutError, TimeoutError):
                    continue
                for msg in msgs:
                    await self.deliver(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def deliver(self, msg: Msg) -> None:
        """Post one event until the receiver takes or refuses it; then settle it."""
        try:
            event = Envelope.model_validate(json.loads(msg.data))
        except ValueError as exc:  # intake wrote it: should never happen; keep the feed moving
            log.error("unreadable outcome event; skipped", extra={"feed": self.feed, "error": repr(exc)})
            await msg.term()
            return
        settings, rng = self.notify.settings, random.Random()
        attempts = 0
        while True:
            outcome = await self._try(event)
            attempts += 1
            metrics.ATTEMPTS.labels("webhook", outcome.status).inc()
            if outcome.status in ("delivered", "permanent"):
                # what was delivered is settled even if the service is stopping meanwhile: never twice
                settling = asyncio.ensure_future(self._settle(msg, event, outcome, attempts))
                try:
                    await asyncio.shield(settling)
                except asyncio.CancelledError:
                    await settling
                    raise
                return
            wait = backoff_seconds(
                attempts,
                base=settings.delivery_backoff_seconds,
                cap=settings.delivery_backoff_max_seconds,
                rng=rng,
            )
            if outcome.retry_after is not None:
                wait = max(wait, min(outcome.retry_after, settings.delivery_backoff_max_seconds))
            log.warning(
                "feed webhook not taken; trying again",
                extra={
                    "feed": self.feed,
                    "event_id": event.id,
                    "reason": outcome.reason,
                    "wait": round(wait, 1),
                },
            )
            await self._hold(msg, wait)

    async def _try(self, event: Envelope) -> Outcome:
        address = self.notify.directory.feed_webhook(self.feed)
        if address is None:  # removed from the recipients file: hold the feed until it is given again
            return Outcome("retry", "the recipients file gives the feed no webhook any more")
        secret = self.notify.settings.webhook_secrets.get(address["secret"])
        if secret is None:
            return Outcome("retry", f"no secret named {address['secret']!r} in WEBHOOK_SECRETS")
        assert self.notify.http is not None
        return await post_signed(
            self.notify.http,
            address["url"],
            secret.get_secret_value(),
            event.to_document(),
            event.id,
            content_type=CLOUDEVENT_JSON,
        )

    async def _hold(self, msg: Msg, seconds: float) -> None:
        """Wait before trying again, keeping the event ours meanwhile (no redelivery, no other event)."""
        left = seconds
        while left > 0:
            step = min(left, KEEP_ALIVE_SECONDS)
            await asyncio.sleep(step)
            left -= step
            await msg.in_progress()

    async def _settle(self, msg: Msg, event: Envelope, outcome: Outcome, attempts: int) -> None:
        notify = self.notify
        now = notify.clock.now()
        doc = record(event, self.feed, outcome, attempts, now)
        owed = (
            []
            if outcome.status == "delivered"
            else [failed_event(doc, doc["dead_reason"], now, notify.clock)]
        )
        await notify.messages.add(doc, owed)
        if owed:
            log.error(
                "feed event refused by its receiver", extra={"feed": self.feed, "reason": outcome.reason}
            )
            notify.runtime.nudge()
        metrics.MESSAGES.labels("webhook", "sent" if not owed else "dead").inc()
        await msg.ack_sync()


def register(notify: "Notify") -> None:
    """A pusher for every feed the recipients file gives a webhook, with its outcome stream declared
    (adding a feed's webhook needs a restart of notify; its address and secret are read at each try)."""
    from dispatch_common.streams import outcome_stream

    known = {s.id for s in notify.systems}
    streams: set[str] = set()
    for feed in sorted(notify.directory.data.feed_webhooks):
        system, _, client = feed.partition(".")
        if not (system in known or (system == subjects.OPEN311_FEED and client)):
            raise ValueError(f"{notify.settings.recipients_file}: feed webhook {feed!r} names no system")
        if system not in streams:
            streams.add(system)
            notify.runtime.bus.declare_stream(outcome_stream(notify.settings, system))
        pusher = FeedPusher(feed, notify)
        notify.runtime.every(1.0, pusher.run, name=f"notify-feed {feed}")
