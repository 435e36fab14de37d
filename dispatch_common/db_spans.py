"""Client spans for MongoDB commands, following the OpenTelemetry database semantic conventions.

A command listener (PyMongo's command monitoring, the mechanism the contrib `pymongo` instrumentation
uses too; that package pins an older instrumentation core than the FastAPI one in use, decision 0025)
starts a span when a command is sent, in the task that sends it, so the span joins the request's or
the consumer's trace, and ends it with the answer. Name `<command> <collection>`; attributes
`db.system.name`, `db.namespace`, `db.collection.name`, `db.operation.name`, `server.address`,
`server.port`, and `error.type` on a failure. Readiness pings and handshakes are not traced.
"""

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pymongo import monitoring

from dispatch_common.telemetry import tracer

UNTRACED = frozenset({"ping", "hello", "ismaster", "isMaster", "saslStart", "saslContinue", "endSessions"})


class CommandSpans(monitoring.CommandListener):
    """One client span per MongoDB command a client sends."""

    def __init__(self) -> None:
        self._open: dict[tuple[Any, int], trace.Span] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Start the command's span under the current one."""
        name = event.command_name
        if name in UNTRACED:
            return
        target = event.command.get(name)
        collection = target if isinstance(target, str) else None
        host, port = event.connection_id
        attributes: dict[str, Any] = {
            "db.system.name": "mongodb",
            "db.namespace": event.database_name,
            "db.operation.name": name,
            "server.address": str(host),
            "server.port": int(port),
        }
        if collection:
            attributes["db.collection.name"] = collection
        span = tracer().start_span(
            f"{name} {collection}" if collection else name, kind=SpanKind.CLIENT, attributes=attributes
        )
        self._open[(event.connection_id, event.request_id)] = span

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """End the command's span."""
        span = self._open.pop((event.connection_id, event.request_id), None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """End the command's span as an error, with the server's error code."""
        span = self._open.pop((event.connection_id, event.request_id), None)
        if span is None:
            return
        code = (event.failure or {}).get("code")
        span.set_attribute("error.type", str(code) if code is not None else type(event).__name__)
        span.set_status(Status(StatusCode.ERROR, str((event.failure or {}).get("errmsg", ""))[:200]))
        span.end()
