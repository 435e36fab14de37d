"""Chinese numerals as numbers: intake's fingerprints and routing's place names read `三号楼` and
`3号楼`, `二组` and `2组` alike."""

from __future__ import annotations

CN_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
NUMERAL_CHARS = "零〇一二两三四五六七八九十百"
"""Every character `chinese_number` reads."""


def chinese_number(numeral: str) -> int:
    """A Chinese numeral (三, 十二, 二十三, 一百零五, 二三) as an int; only NUMERAL_CHARS."""
    if "十" not in numeral and "百" not in numeral:
        return int("".join(str(CN_DIGITS[ch]) for ch in numeral))
    total, current = 0, 0
    for ch in numeral:
        if ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = CN_DIGITS[ch]
    return total + current
