"""Supervision's own Prometheus metrics (beside dispatch_common/metrics.py)."""

from prometheus_client import Gauge

STUCK_CASES = Gauge(
    "dispatch_stuck_cases",
    "Case files waiting between two automatic steps past STUCK_AFTER_SECONDS, by the state they wait in",
    ["state"],
)
