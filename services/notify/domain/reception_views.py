"""What notify reads of the leaders' reception events (docs/reception.md)."""

from datetime import datetime
from typing import Literal

from services.notify.domain.view_base import UnitRef, _View


class LeaderRef(_View):
    """A leader as reception events name them."""

    name: str
    post: str


class ReceptionBookedView(_View):
    """What notify needs of dispatch.reception.booked (a booking made or cancelled)."""

    case_id: str
    case_no: str
    status: Literal["booked", "cancelled", "rescheduled"]
    kind: str
    leader: LeaderRef
    starts_at: datetime
    place: str | None = None
    join_link: str | None = None


class ReceptionDecidedView(_View):
    """What notify needs of dispatch.reception.decided (a leader's decision on a case received)."""

    case_id: str
    case_no: str
    kind: str
    leader: LeaderRef
    instructions: str
    holding: bool
    units: list[UnitRef]
    due_at: datetime | None = None
