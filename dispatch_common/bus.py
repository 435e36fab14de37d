"""JetStream wiring: streams, durable pull consumers with explicit ack, back-off and dead letters.

Every consumer goes through `Bus.consume`, so every one of them validates the envelope against
proto/ before its handler runs, skips events it has already applied, retries with back-off, and
dead-letters what it cannot process with the reason, then moves on.
"""

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, StreamConfig
from opentelemetry.trace import SpanKind
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import metrics, nats_connect, subjects
from dispatch_common.consumer import (
    BatchHandler,
    Consumer,
    ConsumerLoop,
    Decoder,
    Delivery,
    Reject,
    Validator,
    one_at_a_time,
    structured_json,
)
from dispatch_common.contracts import validate_event
from dispatch_common.nats_permissions import Consumer as ConsumerEntry
from dispatch_common.settings import ServiceSettings
from dispatch_common.streams import ensure_consumer, ensure_stream, platform_streams
from dispatch_common.telemetry import context_from_headers, current_trace_headers, tracer

log = logging.getLogger("dispatch.bus")

PROCESSED_COLLECTION = "processed_events"
REASON_HEADER = "Dispatch-Dead-Letter-Reason"


__all__ = ["Bus", "Delivery", "Handler", "Reject"]  # handlers import these from here

Handler = Callable[[Delivery], Awaitable[None]]


def _ascii(text: str, limit: int = 512) -> str:
    return text.encode("ascii", "backslashreplace").decode()[:limit].replace("\r", " ").replace("\n", " ")


class Bus:
    """One service's connection to NATS: its publisher and its durable consumers."""

    def __init__(self, settings: ServiceSettings, *, db: AsyncDatabase) -> None:
        self.settings = settings
        self.service = settings.service_name
        self._processed = db[PROCESSED_COLLECTION]
        self._loops: list[ConsumerLoop] = []
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
        self.consumers: list[ConsumerEntry] = []  # what was registered, as the permission table names it
        self._controls: list[tuple[str, Callable[[Msg], Awaitable[None]]]] = []

    def on_control(self, subject: str, callback: Callable[[Msg], Awaitable[None]]) -> None:
        """Subscribe to a core NATS subject at start (control messages between replicas, not events)."""
        self._controls.append((subject, callback))

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
        js = self.broker.config.connection_state.stream
        inbox = f"{nats_connect.service_inbox(self.settings)}.".encode()
        for loop in self._loops:
            await loop.start(js, inbox_prefix=inbox)
        for subject, callback in self._controls:
            await self.broker.connection.subscribe(subject, cb=callback)
        if self._controls:  # the server has the subscriptions once start returns: a reload asked by
            await self.broker.connection.flush()  # another replica right then reaches this one too
        self._started = True

    async def stop(self) -> None:
        """Stop consumers and drain the connection."""
        self._started = False
        for loop in self._loops:
            await loop.stop()
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
                "messaging.operation.name": "publish",
                "messaging.operation.type": "send",
                "messaging.destination.name": subject,
                "messaging.message.id": event["id"],
                "dispatch.case_id": event.get("subject", ""),
            },
        ) as span:
            headers = {"Nats-Msg-Id": event["id"], "content-type": "application/cloudevents+json"}
            headers.update(current_trace_headers())
            body = json.dumps(event, ensure_ascii=False).encode()
            span.set_attribute("messaging.message.body.size", len(body))
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
        inbox: bool = True,
        decode: Decoder = structured_json,
        validate: Validator = validate_event,
    ) -> None:
        """Register a durable pull consumer with a per-message handler; must be called before start().

        `inbox`: keep processed-events markers and skip what was applied before. A handler that is
        idempotent on its own (derived ids, version guards) may do without, and save two round trips
        per batch. `decode` and `validate`: how a message becomes a checked event document (an
        ingress reads both CloudEvents modes and answers what the envelope check leaves to it).
        """
        self.consume_batch(
            filter_subjects=(subject,),
            durable=durable,
            handler=one_at_a_time(handler),
            data_models={subject: data_model} if data_model else {},
            stream=stream,
            inbox=inbox,
            decode=decode,
            validate=validate,
            each=handler,
        )

    def consume_batch(
        self,
        *,
        filter_subjects: tuple[str, ...],
        durable: str,
        handler: BatchHandler,
        data_models: dict[str, type[BaseModel]] | None = None,
        stream: str = subjects.DISPATCH_STREAM,
        inbox: bool = True,
        decode: Decoder = structured_json,
        validate: Validator = validate_event,
        each: Handler | None = None,
    ) -> None:
        """Register a durable pull consumer whose handler takes a fetched batch (dispatch_common/
        consumer.py); `data_models` types the data of each event type; `each`: a per-message handler
        instead, each message settled on its own; must be called before start()."""
        consumer = Consumer(
            durable=durable,
            stream=stream,
            subjects=filter_subjects,
            handler=handler,
            data_models=data_models or {},
            inbox=self._processed if inbox else None,
            decode=decode,
            validate=validate,
            each=each,
        )
        self._loops.append(ConsumerLoop(self, consumer))
        filters = filter_subjects[0] if len(filter_subjects) == 1 else filter_subjects
        self.consumers.append(ConsumerEntry(durable, self.service, filters, stream))

    def lag(self) -> dict[str, int | None]:
        """How far behind each of this service's consumers is, by durable name (None: not read yet)."""
        return {loop.consumer.durable: loop.lag for loop in self._loops}

    @property
    def consuming(self) -> bool:
        """True when every registered consumer's loop runs."""
        return all(loop.running for loop in self._loops)

    async def dead_letter(self, raw: Msg, *, durable: str, reason: str) -> None:
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
