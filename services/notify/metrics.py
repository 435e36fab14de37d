"""Notify's own Prometheus metrics, beside the platform's (served at /metrics)."""

from prometheus_client import Counter, Histogram

MESSAGES = Counter(
    "dispatch_notify_messages_total",
    "Messages by channel and how they ended or began (recorded, sent, dead)",
    ["channel", "status"],
)
ATTEMPTS = Counter(
    "dispatch_notify_attempts_total",
    "Delivery tries by channel and outcome (delivered, retry, permanent)",
    ["channel", "outcome"],
)
EVENT_TO_SENT = Histogram(
    "dispatch_notify_event_to_sent_seconds",
    "From the time of the event that caused a message to the message being sent",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0),
)
