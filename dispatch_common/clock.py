"""An injectable clock, so deadlines and schedules can be tested by moving time."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by delta."""
        self._now += delta

    def set(self, moment: datetime) -> None:
        """Put the clock at a moment (timezone-aware)."""
        self._now = moment


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime (as some drivers return) as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
