"""Working days: weekends, public holidays and adjusted working weekends, in the county's days."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dispatch_common.workdays import WorkingCalendar

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def calendar(tmp_path: Path) -> WorkingCalendar:
    path = tmp_path / "holidays.json"
    path.write_text(
        json.dumps(
            {
                "years": {
                    "2026": {
                        "holidays": ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
                        "working_weekends": ["2026-10-10"],
                    }
                }
            }
        )
    )
    return WorkingCalendar.load(path)


def test_weekdays_work_weekends_and_holidays_do_not_and_adjusted_weekends_do(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.is_working_day(date(2026, 9, 30))  # Wednesday
    assert not calendar.is_working_day(date(2026, 10, 1))  # holiday, a Thursday
    assert not calendar.is_working_day(date(2026, 10, 4))  # Sunday
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, worked in exchange


def test_adding_working_days_skips_the_days_off(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 9, 29), 1) == date(2026, 9, 30)
    # Wed 30 Sep + 2: 1-2 Oct off, 3-4 weekend, 5-7 off, Thu 8 is the 1st, Fri 9 the 2nd
    assert calendar.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the adjusted Saturday
    assert calendar.add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_the_limit_is_the_end_of_the_last_working_day_in_the_county(calendar: WorkingCalendar) -> None:
    # 20:00 UTC on 29 September is 04:00 on the 30th in China: the day counted from is the 30th
    limit = calendar.limit(datetime(2026, 9, 29, 20, 0, tzinfo=UTC), 2, CHINA)
    assert limit == datetime(2026, 10, 10, 0, 0, tzinfo=CHINA)


def test_a_year_without_data_counts_weekends_only(calendar: WorkingCalendar, caplog) -> None:
    assert calendar.is_working_day(date(2027, 10, 1))  # a Friday: no holiday known for 2027
    assert "no holiday calendar for 2027" in caplog.text


def test_a_day_both_off_and_worked_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"years": {"2026": {"holidays": ["2026-10-10"], "working_weekends": ["2026-10-10"]}}})
    )
    with pytest.raises(ValueError, match="2026-10-10"):
        WorkingCalendar.load(path)


def test_the_shipped_calendar_loads() -> None:
    calendar = WorkingCalendar.load()
    assert 2026 in calendar.years and not calendar.is_working_day(date(2026, 10, 1))
