"""JetStream wiring: streams, durable pull consumers with explicit ack, back-off and dead letters.

Every consumer goes through `Bus.consume`, so every one of them validates the envelope against
proto/ before its handler runs, skips events it has already applied, retries with back-off, and
dead-letters what it cannot process with the reason, then moves on.
"""

import asyncio
import base64
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import metrics, nats_connect, subjects
from dispatch_common.contracts import ContractError, validate_event
from dispatch_common.envelope import Envelope
from dispatch_common.nats_permissions import Consumer
from dispatch_common.settings import ServiceSettings
from dispatch_common.streams import ensure_consumer, ensure_stream, platform_streams
from dispatch_common.telemetry import context_from_headers, current_trace_headers, tracer

log = logging.getLogger("dispatch.bus")

PROCESSED_COLLECTION = "processed_events"
REASON_HEADER = "Dispatch-Dead-Letter-Reason"


class Reject(Exception):
    """A handler's way to say: this event can never be applied; dead-letter it now with this reason."""


@dataclass(frozen=True)
class Delivery:
    """What a handler receives: the validated envelope and, if asked for, its typed data."""

    event: Envelope
    data: Any
    deliveries: int
    sequence: int = 0  # the message's sequence in its stream: the order in which events were published


Handler = Callable[[Delivery], Awaitable[None]]


def _ascii(text: str, limit: int = 512) -> str:
    return text.encode("ascii", "backslashreplace").decode()[:limit].replace("\r", " ").replace("\n", " ")


class Bus:
    """One service's connection to NATS: its publisher and its durable consumers."""

    def __init__(self, settings: ServiceSettings, *, db: AsyncDatabase) -> None:
        self.settings = settings
        self.service = settings.service_name
        self._processed = db[PROCESSED_COLLECTION]
        # One lock per event being applied; a lock goes when no delivery holds it any more.
        self._in_flight: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.broker = nats_connect.broker(
            settings,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=3,
            logger=logging.getLogger("faststream"),
        )
        self._started = False
        self._streams: list[StreamConfig] = platform_streams(settings)
        self._made_for_others: list[tuple[str, ConsumerConfig]] = []
        self.consumers: list[Consumer] = []  # what consume() registered, as the permission table names it

    def declare_stream(self, config: StreamConfig) -> None:
        """Declare one more stream at start (besides DISPATCH and DLQ); must be called before start()."""
        self._streams.append(config)

    def declare_consumer(self, stream: str, config: ConsumerConfig) -> None:
        """Create a durable consumer at start, if missing, that someone else reads (an external system)."""
        self._made_for_others.append((stream, config))

    @property
    def connected(self) -> bool:
        """True when the NATS connection is up."""
        try:
            return self._started and self.broker.connection.is_connected
        except Exception:
            return False

    async def ensure_streams(self) -> None:
        """Create the declared streams and consumers that are missing; never reset what exists
        (dispatch_common/streams.py)."""
        js = self.broker.config.connection_state.stream
        for config in self._streams:
            await ensure_stream(js, config)
        for stream, consumer in self._made_for_others:
            await ensure_consumer(js, stream, consumer)

    async def start(self) -> None:
        """Connect, declare streams, start every registered consumer."""
        await self.broker.connect()
        await self.ensure_streams()
        await self.broker.start()
        self._started = True

    async def stop(self) -> None:
        """Stop consumers and drain the connection."""
        self._started = False
        await self.broker.stop()

    async def publish(self, *, subject: str, body: bytes, headers: dict[str, str], stream: str) -> Any:
        """Publish to JetStream and wait for the stream's acknowledgement."""
        return await self.broker.publish(body, subject, headers=headers, stream=stream, timeout=5.0)

    async def publish_event(
        self,
        event: dict[str, Any],
        *,
        trace_headers: dict[str, str] | None = None,
        subject: str | None = None,
    ) -> Any:
        """Publish one envelope with Nats-Msg-Id = its id, continuing the trace it was written in, on
        the subject that is its type unless another is given (an answer to an external system)."""
        subject = subject or event["type"]
        parent = context_from_headers(trace_headers) if trace_headers else None
        with tracer().start_as_current_span(
            f"publish {event['type']}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": event["id"],
                "dispatch.case_id": event.get("subject", ""),
            },
        ):
            headers = {"Nats-Msg-Id": event["id"], "content-type": "application/cloudevents+json"}
            headers.update(current_trace_headers())
            body = json.dumps(event, ensure_ascii=False).encode()
            ack = await self.publish(
                subject=subject, body=body, headers=headers, stream=subjects.stream_of(subject)
            )
        metrics.EVENTS_PUBLISHED.labels(self.service, event["type"]).inc()
        return ack

    def consume(
        self,
        *,
        subject: str,
        durable: str,
        handler: Handler,
        data_model: type[BaseModel] | None = None,
        stream: str = subjects.DISPATCH_STREAM,
    ) -> None:
        """Register a durable pull consumer; must be called before start()."""
        s = self.settings
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=JsAckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            # The bound is enforced below, in code, so a message whose handling crashed the process on
            # its last try is still dead-lettered; the server's own bound is only a backstop.
            max_deliver=s.consumer_max_deliver + 2,
            ack_wait=s.consumer_ack_wait_seconds,
            max_ack_pending=1000,
        )

        self.consumers.append(Consumer(durable, self.service, subject, stream))

        async def on_message(msg: NatsMessage) -> None:
            await self._handle(msg.raw_message, durable=durable, handler=handler, data_model=data_model)

        self.broker.subscriber(
            subject,
            stream=JStream(stream, declare=False),
            durable=durable,
            config=config,
            pull_sub=PullSub(batch_size=s.consumer_batch_size, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            # FastStream's own default is `_INBOX.`; the server lets this service read only its own.
            inbox_prefix=f"{nats_connect.service_inbox(s)}.".encode(),
        )(on_message)

    async def _handle(
        self, raw: Msg, *, durable: str, handler: Handler, data_model: type[BaseModel] | None
    ) -> None:
        deliveries = raw.metadata.num_delivered
        count = metrics.EVENTS_CONSUMED
        with tracer().start_as_current_span(
            f"consume {raw.subject}",
            context=context_from_headers(raw.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": durable,
                "messaging.destination.name": raw.subject,
                "messaging.delivery_count": deliveries,
            },
        ) as span:
            try:
                document = json.loads(raw.data)
                if not isinstance(document, dict):
                    raise ContractError("envelope: not a JSON object")
                validate_event(document)
                event = Envelope.model_validate(document)
                data = data_model.model_validate(event.data) if data_model else None
            except (ValueError, ValidationError) as exc:  # JSONDecodeError and ContractError are ValueErrors
                await self._dead_letter(raw, durable=durable, reason=f"malformed event: {exc}")
                count.labels(self.service, durable, "dead_lettered").inc()
                return
            span.set_attribute("dispatch.case_id", event.subject or "")
            span.set_attribute("messaging.message.id", event.id)

            if deliveries > self.settings.consumer_max_deliver:
                reason = f"gave up after {deliveries - 1} deliveries without an acknowledgement"
                await self._dead_letter(raw, durable=durable, reason=reason)
                count.labels(self.service, durable, "dead_lettered").inc()
                return
            key = f"{durable}:{event.id}"
            # Two copies of one event in one batch must not both pass the inbox check.
            async with self._in_flight.setdefault(key, asyncio.Lock()):
                await self._apply(raw, event, data, key=key, durable=durable, handler=handler, span=span)

    async def _apply(
        self,
        raw: Msg,
        event: Envelope,
        data: BaseModel | None,
        *,
        key: str,
        durable: str,
        handler: Handler,
        span: trace.Span,
    ) -> None:
        """Apply one valid event once: skip it if the inbox has it, else handle, record and ack."""
        deliveries = raw.metadata.num_delivered
        count = metrics.EVENTS_CONSUMED
        if await self._processed.find_one({"_id": key}, {"_id": 1}):
            await raw.ack()
            count.labels(self.service, durable, "duplicate").inc()
            return
        started = time.perf_counter()
        try:
            await handler(
                Delivery(event=event, data=data, deliveries=deliveries, sequence=raw.metadata.sequence.stream)
            )
        except Reject as exc:
            await self._dead_letter(raw, durable=durable, reason=f"rejected: {exc}")
            count.labels(self.service, durable, "dead_lettered").inc()
            return
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
            if deliveries >= self.settings.consumer_max_deliver:
                reason = f"failed {deliveries} times; last error {type(exc).__name__}: {exc}"
                await self._dead_letter(raw, durable=durable, reason=reason)
                count.labels(self.service, durable, "dead_lettered").inc()
            else:
                backoff = self.settings.consumer_backoff_seconds
                delay = backoff[min(deliveries - 1, len(backoff) - 1)] if backoff else 1.0
                log.warning(
                    "handler failed, retrying",
                    extra={"consumer": durable, "event_id": event.id, "error": repr(exc), "delay": delay},
                )
                await raw.nak(delay=delay)
                count.labels(self.service, durable, "retried").inc()
            return
        finally:
            metrics.HANDLER_LATENCY.labels(self.service, durable).observe(time.perf_counter() - started)
        # A DuplicateKeyError means another replica applied it too; handlers are idempotent.
        with contextlib.suppress(DuplicateKeyError):
            await self._processed.insert_one(
                {
                    "_id": key,
                    "consumer": durable,
                    "event_id": event.id,
                    "type": event.type,
                    "applied_at": datetime.now(UTC),
                }
            )
        await raw.ack()
        count.labels(self.service, durable, "applied").inc()

    async def _dead_letter(self, raw: Msg, *, durable: str, reason: str) -> None:
        """Move a message to dlq.<durable> with its reason, then terminate it on the source consumer."""
        md = raw.metadata
        try:
            payload, encoding = raw.data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(raw.data).decode(), "base64"
        record = {
            "consumer": durable,
            "service": self.service,
            "subject": raw.subject,
            "reason": reason,
            "deliveries": md.num_delivered,
            "stream_sequence": md.sequence.stream,
            "failed_at": datetime.now(UTC).isoformat(),
            "headers": dict(raw.headers or {}),
            "payload": payload,
            "payload_encoding": encoding,
        }
        headers = {
            "Nats-Msg-Id": f"dlq:{durable}:{md.sequence.stream}",
            REASON_HEADER: _ascii(reason),
            "content-type": "application/json",
        }
        headers.update(current_trace_headers())
        try:
            await self.publish(
                subject=subjects.dead_letter_subject(durable),
                body=json.dumps(record, ensure_ascii=False).encode(),
                headers=headers,
                stream=subjects.DLQ_STREAM,
            )
        except Exception:
            log.exception("dead-letter publish failed; the message stays on its consumer")
            await raw.nak(delay=5.0)
            return
        log.error("dead-lettered", extra={"consumer": durable, "reason": reason, "subject": raw.subject})
        await raw.term()
