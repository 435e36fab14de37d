"""OpenTelemetry tracing and JSON logs that carry the trace id.

One case's journey is one trace: HTTP spans start it, the outbox keeps the `traceparent` of the
span that wrote an event, the relay publishes with it, and consumers continue it.
"""

import functools
import json
import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from pythonjsonlogger.json import JsonFormatter

from dispatch_common.redact import scrub_value

_configured = False


class JsonLinesSpanExporter(SpanExporter):
    """Writes finished spans as JSON lines to a file: the local stand-in for a tracing backend."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append the spans to the file."""
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            parent = span.parent
            assert ctx is not None  # a finished SDK span always has its context
            lines.append(
                json.dumps(
                    {
                        "service": span.resource.attributes.get("service.name"),
                        "name": span.name,
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_span_id": format(parent.span_id, "016x") if parent else None,
                        "kind": span.kind.name,
                        "start": span.start_time,
                        "end": span.end_time,
                        "attributes": dict(span.attributes or {}),
                    },
                    ensure_ascii=False,
                    default=str,
                )
            )
        with self._lock, self._path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS


class ScrubbingJsonFormatter(JsonFormatter):
    """JSON log lines without secrets: every field of a record (message, extras, the formatted
    exception) goes through dispatch_common/redact.py before it is written. The time is ISO 8601 in
    UTC with milliseconds (`2026-12-05T20:15:03.123Z`), as log stores and people across zones read it."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time as ISO 8601 UTC."""
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Scrub each field; a field named like a secret is redacted whole."""
        return {key: scrub_value(value, key) for key, value in super().process_log_record(log_data).items()}


class _TraceIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.service = self._service
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        return True


def setup_logging(service: str, level: str = "INFO") -> None:
    """Send JSON log lines with service, trace_id and span_id to stderr, secrets scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        ScrubbingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_TraceIdFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream logs every message at INFO; that is our consumer's job, at DEBUG.
    logging.getLogger("faststream").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


PLATFORM = "county-dispatch"


def resource(service: str, *, version: str, environment: str, instance: str) -> Resource:
    """The OpenTelemetry resource of a service process (semantic conventions); OTEL_RESOURCE_ATTRIBUTES
    adds more (the manifests give k8s.pod.name, k8s.namespace.name and k8s.node.name)."""
    return Resource.create(
        {
            "service.name": service,
            "service.namespace": PLATFORM,
            "service.version": version,
            "service.instance.id": instance,
            "deployment.environment.name": environment,
        }
    )


def setup_tracing(
    service: str,
    *,
    trace_file: Path | None,
    otlp_endpoint: str | None,
    attributes: Resource | None = None,
    http_clients: bool = False,
) -> None:
    """Install the tracer provider once per process, exporting to a file and/or OTLP; with
    `http_clients`, spans for outgoing httpx requests too (semantic conventions)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=attributes or Resource.create({"service.name": service}))
    if trace_file:
        # Batched off the request path; half a second keeps the file close to live for people and tests.
        provider.add_span_processor(
            BatchSpanProcessor(JsonLinesSpanExporter(trace_file), schedule_delay_millis=500)
        )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if http_clients:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(request_hook=_scrub_client_url)
    _configured = True


def _scrub_client_url(span: trace.Span, request: Any) -> None:
    """An outgoing request's URL without secrets (a webhook's token in its query)."""
    if span.is_recording():
        span.set_attribute("url.full", scrub_value(str(request.url), "url"))


def shutdown_tracing() -> None:
    """Flush and stop span export."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


@functools.cache
def tracer(name: str = "dispatch") -> trace.Tracer:
    """The platform's tracer, made once: `get_tracer` builds a new tracer and scope on every call,
    which cost supervision 4 % of its CPU under load (issue 20). One taken before `setup_tracing` is
    OpenTelemetry's proxy, which follows the provider installed later."""
    return trace.get_tracer(name)


def current_trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span, as headers to carry along."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from_headers(headers: Mapping[str, str] | None) -> Context:
    """The trace context carried in message headers (empty context if none)."""
    return propagate.extract(dict(headers or {}))


def current_trace_id() -> str | None:
    """The current trace id in hex, if a span is active."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
