"""Prometheus metrics every service exposes at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

# Names and labels after the OpenTelemetry semantic conventions (http.server.request.duration,
# messaging.process.duration), as Prometheus spells them; `service` is the platform's service.
HTTP_LABELS = ["service", "http_request_method", "http_route", "http_response_status_code"]
HTTP_REQUESTS = Counter("dispatch_http_server_requests_total", "HTTP requests served", HTTP_LABELS)
HTTP_LATENCY = Histogram(
    "dispatch_http_server_request_duration_seconds", "Duration of HTTP requests served", HTTP_LABELS
)
EVENTS_PUBLISHED = Counter(
    "dispatch_events_published_total", "Events published to JetStream", ["service", "type"]
)
EVENTS_CONSUMED = Counter(
    "dispatch_events_consumed_total",
    "Events taken by a consumer, by outcome (applied, duplicate, retried, dead_lettered)",
    ["service", "consumer", "outcome"],
)
HANDLER_LATENCY = Histogram(
    "dispatch_messaging_process_duration_seconds",
    "Duration of handling one fetched batch of a durable consumer",
    ["service", "messaging_consumer_group_name"],
)
OUTBOX_PENDING = Gauge("dispatch_outbox_pending_documents", "Documents with unpublished events", ["service"])
READY = Gauge("dispatch_ready", "1 when the pod is ready (its /readyz answers 200)", ["service"])
OUTBOX_OWED = Gauge(
    "dispatch_outbox_owed_events",
    "Events this process stored and has not published yet (its outbox relay's backlog)",
    ["service"],
)
DEPENDENCY_UP = Gauge(
    "dispatch_dependency_up", "1 when the dependency answered the last /readyz", ["service", "dependency"]
)
PERIODIC_STEP_SUCCESS = Gauge(
    "dispatch_periodic_step_last_success_timestamp_seconds",
    "When a periodic step (the deadline scanner, mediation's scanner, notify's sender...) last finished",
    ["service", "step"],
)
START_GAVE_UP = Gauge(
    "dispatch_start_gave_up", "1 when start-up stopped trying (the pod's liveness then fails)", ["service"]
)
MONGODB_COMMANDS = Counter(
    "dispatch_mongodb_commands_total",
    "MongoDB commands sent, by command name and collection (each is one round trip to the server)",
    ["service", "command", "collection"],
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
HTTP_BUSY = Counter(
    "dispatch_http_busy_total",
    "Requests answered 503 busy: not answered within REQUEST_BUDGET_SECONDS (service or store behind)",
    ["service"],
)
STORE_UNAVAILABLE = Counter(
    "dispatch_http_store_unavailable_total",
    "Requests answered 503 store_unavailable because MongoDB did not answer",
    ["service"],
)
CONSUMER_STORE_ERRORS = Counter(
    "dispatch_consumer_store_errors_total",
    "Store errors of a consumer outside its handler (stage: inbox, markers); the batch backs off",
    ["service", "consumer", "stage"],
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "dispatch_outbox_publish_failures_total",
    "Outbox relay rounds that failed (NATS away, a stream without a leader); the relay backs off",
    ["service"],
)
RELOADS = Counter(
    "dispatch_reloads_total",
    "Reloads of a service's data by this replica, by outcome",
    ["service", "outcome"],
)
