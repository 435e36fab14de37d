"""Prometheus metrics every service exposes at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "dispatch_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "dispatch_http_request_seconds", "HTTP request duration", ["service", "method", "route"]
)
EVENTS_PUBLISHED = Counter(
    "dispatch_events_published_total", "Events published to JetStream", ["service", "type"]
)
EVENTS_CONSUMED = Counter(
    "dispatch_events_consumed_total",
    "Events taken by a consumer, by outcome (applied, duplicate, retried, dead_lettered)",
    ["service", "consumer", "outcome"],
)
HANDLER_LATENCY = Histogram("dispatch_handler_seconds", "Event handler duration", ["service", "consumer"])
OUTBOX_PENDING = Gauge("dispatch_outbox_pending_documents", "Documents with unpublished events", ["service"])
READY = Gauge("dispatch_ready", "1 when NATS and MongoDB are reachable", ["service"])
MONGODB_COMMANDS = Counter(
    "dispatch_mongodb_commands_total",
    "MongoDB commands sent, by command name (each is one round trip to the server)",
    ["service", "command"],
)
CONSUMER_FETCH_ERRORS = Counter(
    "dispatch_consumer_fetch_errors_total",
    "A consumer loop's fetch or batch that failed, by error; the loop pauses and goes on",
    ["service", "consumer", "error"],
)
CONSUMER_LAG = Gauge(
    "dispatch_consumer_lag",
    "Messages a durable consumer has still to take or to acknowledge (read from the server every 5 s)",
    ["service", "consumer"],
)
