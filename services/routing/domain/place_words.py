"""The words of place names: numerals read alike (`二组` = `2组`) and level words said or left out.

Language, not a county's data: the names themselves are in the county package.
"""

from __future__ import annotations

import re

from dispatch_common.numerals import NUMERAL_CHARS, chinese_number

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

_NUMERAL_RUN = re.compile(f"[{NUMERAL_CHARS}]+(?=组|社|队|号|网格|栋|幢|单元|巷)")


def canon(text: str) -> str:
    """Normalized text with numbers before 组/社/号/网格/... in Arabic numerals (`二组` → `2组`)."""
    return _NUMERAL_RUN.sub(lambda m: str(chinese_number(m.group(0))), text)


def strip_level_word(name: str) -> str:
    """The name without its trailing level word (`前进村` → `前进`), or the name itself."""
    for suffix in LEVEL_WORDS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
