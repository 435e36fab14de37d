"""What `/readyz` says: each dependency, what the pod can still do, and the events it owes.

A pod is ready (in its Service) when it can answer its requests. With MongoDB away it cannot. With
NATS away, a service whose requests only write to MongoDB (intake: each case is stored with the events
it owes, its outbox) still can, and is kept ready while it owes fewer events than its limit; its
consumers and relay wait for NATS. The owed events are also a metric, `dispatch_outbox_owed_events`.
"""

from dataclasses import dataclass
from typing import Any

from dispatch_common import metrics


@dataclass(frozen=True)
class Readiness:
    """One answer of `/readyz`."""

    checks: dict[str, bool]
    can: dict[str, bool]
    owed_events: int
    owed_limit: int
    ready: bool

    @property
    def status(self) -> str:
        """`ready`, `degraded` (ready, but some work waits for NATS) or `not ready`."""
        if not self.ready:
            return "not ready"
        return "ready" if all(self.can.values()) else "degraded"

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        return {
            "status": self.status,
            "checks": self.checks,
            "can": self.can,
            "outbox": {"owed_events": self.owed_events, "limit": self.owed_limit},
        }


def readiness(
    *,
    mongodb: bool,
    nats: bool,
    started: bool,
    consuming: bool,
    owed: int,
    limit: int,
    without_nats: bool,
    service: str,
) -> Readiness:
    """Decide readiness from the checks; sets the `dispatch_ready` and owed-events gauges."""
    can = {
        "take_requests": mongodb and started,
        "publish_events": nats and started,
        "consume_events": nats and started and consuming,
    }
    if without_nats:
        ready = can["take_requests"] and (nats or owed < limit)
    else:
        ready = can["take_requests"] and can["publish_events"]
    metrics.READY.labels(service).set(1 if ready else 0)
    metrics.DEPENDENCY_UP.labels(service, "mongodb").set(1 if mongodb else 0)
    metrics.DEPENDENCY_UP.labels(service, "nats").set(1 if nats else 0)
    metrics.OUTBOX_OWED.labels(service).set(owed)
    return Readiness(
        checks={"mongodb": mongodb, "nats": nats, "started": started},
        can=can,
        owed_events=owed,
        owed_limit=limit,
        ready=ready,
    )
