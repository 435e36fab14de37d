"""Durable pull consumers that take what is waiting as one batch, and settle each message on its own.

One loop per durable consumer fetches up to `batch_size` messages (as many as are waiting: a fetch
returns as soon as one is there) and hands the valid ones to the handler together, so a handler may
write once per batch what it would otherwise write once per message (supervision's timeline and case
files, notify's messages). Each message is then settled on its own, as before:

1. malformed (not JSON, or not valid against proto/) -> dead-lettered at once;
2. delivered more than `CONSUMER_MAX_DELIVER` times -> dead-lettered;
3. applied before (consumers that keep an inbox of processed events; one query per batch) -> acked;
4. the handler's failure for it: `Reject` -> dead-lettered; anything else -> nak'ed with back-off, or
   dead-lettered after the last delivery;
5. applied -> its marker recorded (inbox consumers; one insert per batch), then acked.

A store error around the handler (the inbox query of 3, the markers of 5) takes the path of a failed
handler: each message of the batch is nak'ed with back-off (counted `retried`, and in
`dispatch_consumer_store_errors_total` by stage), never left to the ack wait. A batch whose markers
could not be stored is applied again at its redelivery, which the handlers' derived ids and version
guards make harmless.

The loop itself survives whatever a fetch raises (nats-py raises asyncio's TimeoutError as well as its
own from inside a fetch; a connection lost for a moment raises others): each is counted in
`dispatch_consumer_fetch_errors_total`, logged as JSON, and followed by a short pause, never by a dead
loop.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from dispatch_common import metrics
from dispatch_common.contracts import ContractError, validate_event
from dispatch_common.envelope import Envelope
from dispatch_common.telemetry import context_from_headers, tracer

if TYPE_CHECKING:
    from dispatch_common.bus import Bus

log = logging.getLogger("dispatch.consumer")

FETCH_WAIT_SECONDS = 5.0  # an idle consumer asks again this often
IN_FLIGHT_BATCHES = 4  # a per-message consumer keeps up to this many batches' messages in hand
LAG_POLL_SECONDS = 5.0  # how often a consumer reads how far behind it is
PAUSE_AFTER_ERROR_SECONDS = 1.0


class Reject(Exception):
    """A handler's way to say: this event can never be applied; dead-letter it now with this reason."""


@dataclass(frozen=True)
class Delivery:
    """What a handler receives: the validated envelope and, if asked for, its typed data."""

    event: Envelope
    data: Any
    deliveries: int
    sequence: int = 0  # the message's sequence in its stream: the order in which events were published
    span: trace.Span | None = None  # the consumer span; what a handler writes continues its trace

    def traced(self) -> contextlib.AbstractContextManager[Any]:
        """Make this delivery's span the current one (so events written now carry its trace)."""
        return trace.use_span(self.span, end_on_exit=False) if self.span else contextlib.nullcontext()


# A batch handler returns the failures by event id; the other deliveries were applied.
BatchHandler = Callable[[list[Delivery]], Awaitable[dict[str, BaseException]]]
# How a consumer reads a message into an event document (JSON), and checks it against proto/.
Decoder = Callable[[Msg], dict[str, Any]]
Validator = Callable[[dict[str, Any]], None]


def structured_json(msg: Msg) -> dict[str, Any]:
    """The platform's own messages: the event in the JSON event format as the payload."""
    document = json.loads(msg.data)
    if not isinstance(document, dict):
        raise ContractError("envelope: not a JSON object")
    return document


@dataclass
class Consumer:
    """One durable pull consumer of a stream, for the subjects it acts on."""

    durable: str
    stream: str
    subjects: tuple[str, ...]
    handler: BatchHandler
    # A per-message handler: each message is settled as soon as it is handled, and the loop fetches
    # more while slow ones run (up to IN_FLIGHT_BATCHES batches), so one costly message holds up none
    # of the others. None: the batch handler takes a fetched batch as one.
    each: Callable[[Delivery], Awaitable[None]] | None = None
    data_models: dict[str, type[BaseModel]] = field(default_factory=dict)
    inbox: AsyncCollection | None = None  # processed-events markers, for handlers that need them
    decode: Decoder = structured_json  # an ingress also reads the binary mode of CloudEvents
    validate: Validator = validate_event  # an ingress checks the envelope only, and answers the rest

    def config(self, *, max_deliver: int, ack_wait: float) -> ConsumerConfig:
        """The consumer's configuration on the server."""
        filters: dict[str, Any] = (
            {"filter_subject": self.subjects[0]}
            if len(self.subjects) == 1
            else {"filter_subjects": list(self.subjects)}
        )
        return ConsumerConfig(
            durable_name=self.durable,
            name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            # The bound is enforced below, in code, so a message whose handling crashed the process on
            # its last try is still dead-lettered; the server's own bound is only a backstop.
            max_deliver=max_deliver + 2,
            ack_wait=ack_wait,
            max_ack_pending=1000,
            **filters,
        )


@dataclass
class _Item:
    """A fetched message on its way: its span, and once valid, its delivery."""

    msg: Msg
    span: trace.Span
    delivery: Delivery | None = None


class ConsumerLoop:
    """Fetches, hands over and settles the messages of one consumer until stopped."""

    def __init__(self, bus: "Bus", consumer: Consumer) -> None:
        self.bus, self.consumer = bus, consumer
        settings = bus.settings
        self.max_deliver = settings.consumer_max_deliver
        self.backoff = settings.consumer_backoff_seconds
        self.batch_size = settings.consumer_batch_size
        self.ack_wait = settings.consumer_ack_wait_seconds
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self.max_in_flight = self.batch_size * IN_FLIGHT_BATCHES
        self._watching: asyncio.Task[None] | None = None
        self.lag: int | None = None  # messages waiting or unacknowledged, as last read from the server

    async def start(self, js: JetStreamContext, *, inbox_prefix: bytes | None = None) -> None:
        """Create the consumer if it is missing (or bring its subjects up to date), bind, and run;
        replies come to `inbox_prefix` (the service's own inbox, the only one it may read)."""
        c = self.consumer
        wanted = c.config(max_deliver=self.max_deliver, ack_wait=self.ack_wait)
        try:
            info = await js.consumer_info(c.stream, c.durable)
            current = info.config.filter_subjects or [info.config.filter_subject]
            if sorted(current) != sorted(c.subjects):
                await js.add_consumer(c.stream, config=wanted)  # create-or-update: the subjects changed
        except NotFoundError:
            await js.add_consumer(c.stream, config=wanted)
        self._subscription = await js.pull_subscribe_bind(
            durable=c.durable, stream=c.stream, inbox_prefix=inbox_prefix
        )
        self._task = asyncio.create_task(self._run(), name=f"consumer {c.durable}")
        self._watching = asyncio.create_task(self._watch_lag(js), name=f"lag of {c.durable}")

    async def _watch_lag(self, js: JetStreamContext) -> None:
        """Read how far behind the consumer is (`dispatch_consumer_lag`, /readyz's detail)."""
        c = self.consumer
        gauge = metrics.CONSUMER_LAG.labels(self.bus.service, c.durable)
        while True:
            try:
                info = await js.consumer_info(c.stream, c.durable)
                self.lag = (info.num_pending or 0) + (info.num_ack_pending or 0)
                gauge.set(self.lag)
            except asyncio.CancelledError:
                raise
            except Exception:  # the server away for a moment: the last reading stands
                pass
            await asyncio.sleep(LAG_POLL_SECONDS)

    async def stop(self) -> None:
        """Stop fetching; a batch being handled is cancelled and comes back after the ack wait."""
        if self._watching is not None:
            self._watching.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._in_flight):  # unacknowledged: they come back after the ack wait
            task.cancel()
        if self._in_flight:
            await asyncio.wait(self._in_flight)
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        assert self._subscription is not None
        c, service = self.consumer, self.bus.service
        while True:
            room = self.batch_size
            if c.each is not None:
                room = min(room, self.max_in_flight - len(self._in_flight))
                if room <= 0:  # enough in hand: wait for one to finish
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
            try:
                msgs = await self._subscription.fetch(room, timeout=FETCH_WAIT_SECONDS)
            except (NatsTimeoutError, TimeoutError):
                continue  # nothing waiting: ask again
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost or the server busy: pause, then ask again
                metrics.CONSUMER_FETCH_ERRORS.labels(service, c.durable, type(exc).__name__).inc()
                level = logging.INFO if isinstance(exc, ConnectionClosedError) else logging.WARNING
                log.log(
                    level, "fetch failed; asking again", extra={"consumer": c.durable, "error": repr(exc)}
                )
                await asyncio.sleep(PAUSE_AFTER_ERROR_SECONDS)
                continue
            try:
                await (self.dispatch(msgs) if c.each is not None else self.process(msgs))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store error outside a handler: every message backs off
                metrics.CONSUMER_FETCH_ERRORS.labels(service, c.durable, type(exc).__name__).inc()
                log.warning("batch failed; retrying", extra={"consumer": c.durable, "error": repr(exc)})

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Validate, hand over and settle one fetched batch."""
        items = [self._open(msg) for msg in msgs]
        try:
            live = await self._screen(items)
            failures: dict[str, BaseException] = {}
            started = time.perf_counter()
            if live:
                try:
                    failures = await self.consumer.handler([i.delivery for i in live if i.delivery])
                except Exception as exc:  # the whole batch failed: each message backs off on its own
                    failures = {i.delivery.event.id: exc for i in live if i.delivery}
                elapsed = time.perf_counter() - started
                metrics.HANDLER_LATENCY.labels(self.bus.service, self.consumer.durable).observe(elapsed)
            await self._settle(live, failures)
        finally:
            for item in items:
                item.span.end()

    async def dispatch(self, msgs: Sequence[Msg]) -> None:
        """Validate a fetched batch and hand each valid message to the per-message handler on its own."""
        items = [self._open(msg) for msg in msgs]
        live: list[_Item] = []
        try:
            live = await self._screen(items)
        finally:
            for item in items:
                if item not in live:
                    item.span.end()
        for item in live:
            task = asyncio.create_task(self._one(item))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _one(self, item: _Item) -> None:
        """Handle one message and settle it at once."""
        assert item.delivery is not None and self.consumer.each is not None
        try:
            started = time.perf_counter()
            try:
                with item.delivery.traced():
                    await self.consumer.each(item.delivery)
            except Exception as exc:
                await self._fail(item, exc)
                return
            finally:
                elapsed = time.perf_counter() - started
                metrics.HANDLER_LATENCY.labels(self.bus.service, self.consumer.durable).observe(elapsed)
            await self._mark([item])
            await item.msg.ack()
            self._count("applied")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the inbox or the ack failed: the message comes back after the ack wait
            metrics.CONSUMER_FETCH_ERRORS.labels(
                self.bus.service, self.consumer.durable, type(exc).__name__
            ).inc()
            log.warning("settling failed", extra={"consumer": self.consumer.durable, "error": repr(exc)})
        finally:
            item.span.end()

    def _open(self, msg: Msg) -> _Item:
        span = tracer().start_span(
            f"process {msg.subject}",
            context=context_from_headers(msg.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.name": "process",
                "messaging.operation.type": "process",
                "messaging.consumer.group.name": self.consumer.durable,
                "messaging.destination.name": msg.subject,
                "messaging.message.body.size": len(msg.data),
                "dispatch.delivery_count": msg.metadata.num_delivered,
            },
        )
        return _Item(msg, span)

    async def _screen(self, items: list[_Item]) -> list[_Item]:
        """Dead-letter the malformed and the exhausted, ack what was applied before; the rest."""
        live: list[_Item] = []
        for item in items:
            raw = item.msg
            try:
                document = self.consumer.decode(raw)
                self.consumer.validate(document)
                event = Envelope.model_validate(document)
                model = self.consumer.data_models.get(event.type)
                data = model.model_validate(event.data) if model else None
            except (ValueError, ValidationError) as exc:  # JSONDecodeError and ContractError are ValueErrors
                await self._dead_letter(item, f"malformed event: {exc}")
                continue
            item.span.set_attribute("dispatch.case_id", event.subject or "")
            item.span.set_attribute("messaging.message.id", event.id)
            deliveries = raw.metadata.num_delivered
            if deliveries > self.max_deliver:
                await self._dead_letter(
                    item, f"gave up after {deliveries - 1} deliveries without an acknowledgement"
                )
                continue
            sequence = raw.metadata.sequence.stream
            item.delivery = Delivery(
                event=event, data=data, deliveries=deliveries, sequence=sequence, span=item.span
            )
            live.append(item)
        try:
            applied = await self._applied_before(live)
        except Exception as exc:  # the store is away: every message backs off, as a failed handler's would
            await self._store_failed(live, exc, stage="inbox")
            return []
        for item in [i for i in live if i.delivery and i.delivery.event.id in applied]:
            await item.msg.ack()
            self._count("duplicate")
        unique: dict[str, _Item] = {}
        for item in live:
            assert item.delivery is not None
            if item.delivery.event.id in applied:
                continue
            if item.delivery.event.id in unique:  # two copies in one batch: the first one counts
                await item.msg.ack()
                self._count("duplicate")
                continue
            unique[item.delivery.event.id] = item
        return list(unique.values())

    async def _applied_before(self, items: list[_Item]) -> set[str]:
        """The events the inbox says this consumer applied before (one query per batch)."""
        inbox = self.consumer.inbox
        if inbox is None or not items:
            return set()
        keys = [self._key(i) for i in items]
        query = {"_id": keys[0]} if len(keys) == 1 else {"_id": {"$in": keys}}
        found = {doc["_id"] async for doc in inbox.find(query, {"_id": 1})}
        redelivered = items
        return {
            i.delivery.event.id
            for i, key in zip(redelivered, keys, strict=True)
            if key in found and i.delivery
        }

    def _key(self, item: _Item) -> str:
        assert item.delivery is not None
        return f"{self.consumer.durable}:{item.delivery.event.id}"

    async def _settle(self, live: list[_Item], failures: dict[str, BaseException]) -> None:
        applied = [i for i in live if i.delivery and i.delivery.event.id not in failures]
        try:
            await self._mark(applied)
        except Exception as exc:  # applied, but not remembered: back off, and apply again (idempotent)
            await self._store_failed(applied, exc, stage="markers")
            applied = []
        for item in applied:
            await item.msg.ack()
            self._count("applied")
        for item in live:
            assert item.delivery is not None
            failure = failures.get(item.delivery.event.id)
            if failure is not None:
                await self._fail(item, failure)

    async def _mark(self, applied: list[_Item]) -> None:
        """Record the applied events in the inbox (one insert; another replica's markers are fine)."""
        inbox = self.consumer.inbox
        if inbox is None or not applied:
            return
        now = datetime.now(UTC)
        markers = [
            {
                "_id": self._key(i),
                "consumer": self.consumer.durable,
                "event_id": i.delivery.event.id,
                "type": i.delivery.event.type,
                "applied_at": now,
            }
            for i in applied
            if i.delivery
        ]
        with contextlib.suppress(BulkWriteError):  # duplicates: another replica applied it too
            await inbox.insert_many(markers, ordered=False)

    async def _store_failed(self, items: list[_Item], exc: Exception, *, stage: str) -> None:
        """A store error outside the handler: counted, then each message takes the back-off path."""
        metrics.CONSUMER_STORE_ERRORS.labels(self.bus.service, self.consumer.durable, stage).inc()
        for item in items:
            await self._fail(item, exc)

    async def _fail(self, item: _Item, exc: BaseException) -> None:
        assert item.delivery is not None
        deliveries = item.delivery.deliveries
        if isinstance(exc, Reject):
            await self._dead_letter(item, f"rejected: {exc}")
            return
        item.span.record_exception(exc)
        item.span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
        if deliveries >= self.max_deliver:
            await self._dead_letter(
                item, f"failed {deliveries} times; last error {type(exc).__name__}: {exc}"
            )
            return
        delay = self.backoff[min(deliveries - 1, len(self.backoff) - 1)] if self.backoff else 1.0
        log.warning(
            "handler failed, retrying",
            extra={
                "consumer": self.consumer.durable,
                "event_id": item.delivery.event.id,
                "error": repr(exc),
                "delay": delay,
            },
        )
        await item.msg.nak(delay=delay)
        self._count("retried")

    async def _dead_letter(self, item: _Item, reason: str) -> None:
        with trace.use_span(item.span, end_on_exit=False):
            await self.bus.dead_letter(item.msg, durable=self.consumer.durable, reason=reason)
        self._count("dead_lettered")

    def _count(self, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(self.bus.service, self.consumer.durable, outcome).inc()


def one_at_a_time(handler: Callable[[Delivery], Awaitable[None]]) -> BatchHandler:
    """A batch handler that applies each delivery with a per-message handler, side by side, each in
    its own delivery's trace."""

    async def traced(delivery: Delivery) -> None:
        with delivery.traced():
            await handler(delivery)

    async def handle(deliveries: list[Delivery]) -> dict[str, BaseException]:
        results = await asyncio.gather(*(traced(d) for d in deliveries), return_exceptions=True)
        failures: dict[str, BaseException] = {}
        for delivery, result in zip(deliveries, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                failures[delivery.event.id] = result
        return failures

    return handle
