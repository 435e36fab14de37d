"""Delivery rules without I/O: back-off with jitter, quiet hours, SMS segments, masking."""

import math
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Outcome:
    """What a try came to: delivered, worth another try, or never going to work."""

    status: Literal["delivered", "retry", "permanent"]
    reason: str = ""
    provider_ref: str | None = None
    retry_after: float | None = None


# GSM 03.38 basic characters: a text of these only is sent 7-bit (160 a part), anything else as UCS-2.
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def sms_segments(text: str) -> int:
    """How many parts an SMS takes: 70 UCS-2 characters alone, 67 a part when split (160/153 for GSM-7)."""
    gsm = all(ch in _GSM7 for ch in text)
    single, part = (160, 153) if gsm else (70, 67)
    length = len(text) if gsm else len(text.encode("utf-16-le")) // 2  # astral characters count twice
    if length <= single:
        return 1
    return math.ceil(length / part)


def fit_sms(text: str, max_segments: int) -> tuple[str, bool]:
    """The text cut to at most `max_segments` parts with an ellipsis, and whether it was cut."""
    if sms_segments(text) <= max_segments:
        return text, False
    keep = len(text)
    while keep > 0 and sms_segments(text[:keep] + "…") > max_segments:
        keep -= 1
    return text[:keep] + "…", True


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait after the `attempt`-th failed try: doubling from `base`, capped, with equal jitter.

    Equal jitter (half fixed, half random) spreads retries of many messages apart while each wait is
    still at least half the doubled delay, so waits never shrink from one try to the next.
    """
    delay = min(cap, base * 2 ** max(attempt - 1, 0))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


@dataclass(frozen=True)
class QuietHours:
    """Hours of the county's day in which non-urgent SMS are held back (may span midnight)."""

    start: time
    end: time

    def holds(self, moment: datetime, tz: ZoneInfo) -> bool:
        """True when `moment` lies inside the quiet hours, in the county's time."""
        local = moment.astimezone(tz).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The end of the quiet hours that `moment` lies in (or `moment` itself when outside them)."""
        if not self.holds(moment, tz):
            return moment
        local = moment.astimezone(tz)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        # Rebuild in the zone so a change of UTC offset overnight is taken into account.
        end = datetime.combine(end.date(), self.end, tzinfo=tz)
        return end.astimezone(moment.tzinfo)


def parse_quiet_hours(value: str) -> QuietHours | None:
    """`"21:00-08:00"` as QuietHours; an empty string means none. Raises ValueError on a bad value."""
    if not value.strip():
        return None
    try:
        start_text, end_text = value.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError as exc:
        raise ValueError(f"quiet hours must look like 21:00-08:00, not {value!r}") from exc
    if start == end:
        raise ValueError("quiet hours must start and end at different times")
    return QuietHours(start, end)


def mask_url(url: str) -> str:
    """Keep a URL's scheme and host only: query strings and paths may carry tokens."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("@")[-1]
    return f"{scheme}://{host}/…" if rest else "***"
