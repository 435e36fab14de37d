"""What one event means for notify, and how notices write dates and name units. Pure."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass
class Occasion:
    """What one event means for notify: the kinds it owes, the units it names, the template values.

    `level` picks the audiences of a kind's `by_level` in the recipients file: an escalation's rung,
    a referral's track."""

    kinds: list[str]
    case_id: str | None
    values: dict[str, Any]
    units: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # audience -> units
    level: str | None = None
    urgent: bool = False


def cn_date(moment: datetime | date | None, tz: ZoneInfo) -> str:
    """A date as notices write it, in the county's calendar: 2026年03月01日."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(tz)
    return moment.strftime("%Y年%m月%d日")


def cn_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """A moment as notices write it, in the county's time: 2026年03月01日 14:30."""
    if moment is None:
        return ""
    return moment.astimezone(tz).strftime("%Y年%m月%d日 %H:%M")


def unit_ref(u: Any) -> dict[str, str]:
    """A unit of an event as an occasion names it."""
    return {"code": u.code, "name": u.name}
