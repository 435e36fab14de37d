"""What a leader's reception owes (docs/reception.md): the petitioner hears of a booking (the time and
place, or the join link of a video reception) and of its cancellation; the petitioner, the case's lead
unit and the units the leader named hear of the leader's decision (领导批示, 包案, the time limit). Pure.
"""

from typing import Any
from zoneinfo import ZoneInfo

from services.notify.domain.models import ReceptionBookedView, ReceptionDecidedView
from services.notify.domain.occasion import Occasion, cn_date, cn_time, unit_ref

RECEPTION_KINDS = {
    "reception": "领导接访",
    "visit": "领导下访",
    "visit_with_cases": "带案下访",
    "video": "视频接访",
}
RECEPTION_VIEWS = (ReceptionBookedView, ReceptionDecidedView)


def reception_occasion(data: Any, base: dict[str, Any], *, tz: ZoneInfo) -> Occasion:
    """Read one of the reception events: the kinds of notice it owes and their values."""
    values = base | {
        "case_no": data.case_no,
        "leader_name": data.leader.name,
        "leader_post": data.leader.post,
        "reception_kind": RECEPTION_KINDS.get(data.kind, data.kind),
    }
    if isinstance(data, ReceptionBookedView):
        values |= {
            "session_time": cn_time(data.starts_at, tz),
            "place": data.place or "",
            "join_link": data.join_link or "",
            "video": data.kind == "video",
            "cancelled": data.status == "cancelled",
            "rescheduled": data.status == "rescheduled",
        }
        return Occasion(["reception_booking"], data.case_id, values)
    if isinstance(data, ReceptionDecidedView):
        values |= {
            "instructions": data.instructions,
            "holding": data.holding,
            "time_limit": cn_date(data.due_at, tz) if data.due_at else "",
        }
        return Occasion(
            ["reception_decision"], data.case_id, values, {"named_units": [unit_ref(u) for u in data.units]}
        )
    raise TypeError(f"no notices for {type(data).__name__}")
