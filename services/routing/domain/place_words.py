"""The words of place names: numerals read alike (`二组` = `2组`) and level words said or left out.

Language, not a county's data: the names themselves are in the county package.
"""

from __future__ import annotations

import re

LEVEL_WORDS: tuple[str, ...] = (
    "居民委员会",
    "村民委员会",
    "居委会",
    "村委会",
    "社区",
    "街道",
    "村",
    "镇",
    "乡",
)
"""Level words a name may be said with or without (the longest first)."""

NUMERALS = "零〇一二两三四五六七八九十百"
_NUMERAL_RUN = re.compile(f"[{NUMERALS}]+(?=组|社|队|号|网格|栋|幢|单元|巷)")
_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}


def chinese_number(run: str) -> int | None:
    """`二` → 2, `十二` → 12, `二十` → 20, `一百零五` → 105; None for what is not a number."""
    total, digit = 0, 0
    for ch in run:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch == "十":
            total += (digit or 1) * 10
            digit = 0
        elif ch == "百":
            total += (digit or 1) * 100
            digit = 0
        else:
            return None
    return total + digit


def canon(text: str) -> str:
    """Normalized text with numbers before 组/社/号/网格/... in Arabic numerals (`二组` → `2组`)."""

    def arabic(m: re.Match[str]) -> str:
        n = chinese_number(m.group(0))
        return m.group(0) if n is None else str(n)

    return _NUMERAL_RUN.sub(arabic, text)


def strip_level_word(name: str) -> str:
    """The name without its trailing level word (`前进村` → `前进`), or the name itself."""
    for suffix in LEVEL_WORDS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
