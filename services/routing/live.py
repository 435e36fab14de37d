"""What routing's live stream (the manual dispatch queue) makes of its own events.

A case enters the queue when routing sends it to people (`queue: manual` on dispatch.case.routed or
dispatch.case.rerouted) and leaves it when a route places it (a dispatcher's override, a conference's
decision, routing again after a return). Routing publishes these from the route's outbox after the
route was stored, and they carry everything the queue shows: no read is needed.
"""

from dataclasses import dataclass
from typing import Any

from dispatch_common import subjects
from dispatch_common.live import Item

ROUTE_EVENTS = (subjects.CASE_ROUTED, subjects.CASE_REROUTED)


@dataclass(frozen=True)
class QueueChange:
    """A case entering (`entered`) or leaving (`left`) the manual queue."""

    name: str
    confidential: bool
    data: dict[str, Any]


async def prepare(seq: int, event: dict[str, Any]) -> QueueChange | None:
    """The queue change a route event makes (None for other events)."""
    if event.get("type") not in ROUTE_EVENTS:
        return None
    data = event["data"]
    confidential = bool(data.get("confidential"))
    if data.get("queue") == "manual":
        return QueueChange(
            "entered",
            confidential,
            {
                "case_id": data["case_id"],
                "case_no": data["case_no"],
                "jurisdiction": data.get("jurisdiction"),
                "category": data.get("category"),
                "tier": data.get("tier"),
                "flags": data.get("flags") or [],
                "suggested_lead_unit": data.get("lead_unit"),
                "manual_reason": data.get("manual_reason"),
                "explanation": data.get("explanation") or [],
                "confidential": confidential,
                "at": event.get("time"),
            },
        )
    return QueueChange(
        "left",
        confidential,
        {
            "case_id": data["case_id"],
            "case_no": data["case_no"],
            "lead_unit": data.get("lead_unit"),
            "cause": data.get("cause", "routed"),
            "at": event.get("time"),
        },
    )


def queue_change(item: Item) -> QueueChange:
    """The queue change an item of routing's hub carries."""
    value: QueueChange = item.value
    return value
