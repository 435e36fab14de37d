"""Working days (工作日): weekends and public holidays off, adjusted weekends on, from a calendar file.

Time limits in working days (a unit's return within 5 working days, an objection to an assignment)
count whole days in the county's time zone: the limit of N working days from a moment is the end of
the N-th working day after the day of that moment.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dispatch_common.paths import DATA_DIR

DEFAULT_CALENDAR = DATA_DIR / "policy" / "holidays.json"
log = logging.getLogger("dispatch.workdays")


@dataclass(frozen=True)
class WorkingCalendar:
    """Holidays and adjusted working weekends per year; other days by the weekday."""

    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()
    _warned: set[int] = field(default_factory=set, compare=False, repr=False)

    @classmethod
    def load(cls, path: Path | str = DEFAULT_CALENDAR) -> "WorkingCalendar":
        """Read the calendar file; a malformed date or a day both off and on is an error."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        holidays: set[date] = set()
        weekends: set[date] = set()
        years: set[int] = set()
        for year, spec in (raw.get("years") or {}).items():
            years.add(int(year))
            holidays |= {date.fromisoformat(d) for d in spec.get("holidays") or []}
            weekends |= {date.fromisoformat(d) for d in spec.get("working_weekends") or []}
        both = sorted(holidays & weekends)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"{path}: dates both holiday and working weekend: {listed}")
        return cls(frozenset(holidays), frozenset(weekends), frozenset(years))

    def is_working_day(self, day: date) -> bool:
        """Whether people work on that day."""
        if day.year not in self.years and day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("no holiday calendar for %s: counting weekends only", day.year)
        if day in self.holidays:
            return False
        if day in self.working_weekends:
            return True
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (not counting `start` itself)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        current, left = start, days
        while left:
            current += timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        return current

    def limit(self, moment: datetime, days: int, tz: ZoneInfo) -> datetime:
        """The end (24:00 local time) of the `days`-th working day after the local day of `moment`."""
        local_day = moment.astimezone(tz).date()
        last = self.add_working_days(local_day, days)
        return datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
