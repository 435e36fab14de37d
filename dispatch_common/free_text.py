"""Phone and ID numbers in free text: find them, mask them, keep their clear values sealed aside.

What counts as a number is data (`data/pii/free_text.json`, described there): mainland mobile
numbers, landlines with their area code, 18-digit resident ID numbers with their check digit and the
old 15-digit form, each with a real birth date. The detector is built to be precise: a case number
(990102-2026-000123), a date, an amount of money or a house number is never taken for one.

Masks keep the length and the separators (`138****5678`, `047*-***2345`, `110***********123X`), so a
value's place is the same in the masked and the clear text: `protect` returns the masked text and
each clear value sealed (`crypto.encrypt`, bound to the record and field) with its place, `reveal`
puts them back. Full-width digits count as digits (they are matched on a half-width shadow of the
text of the same length). Numbers written in Chinese numerals are not recognized.
"""

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from dispatch_common.crypto import PiiKeys, decrypt, encrypt
from dispatch_common.paths import DATA_DIR

DEFAULT_FILE = DATA_DIR / "pii" / "free_text.json"
Kind = Literal["phone", "id_number"]
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Full-width digits, letters X/x and separators as their half-width selves: one character for one.
_SHADOW = str.maketrans(
    "０１２３４５６７８９ＸｘＸ－（）＋　",
    "0123456789XxX-()+ ",
)
_GLUE = r"0-9A-Za-z"
_SKIPPED_BEFORE = " \t:：#＃"
_COUNTRY = re.compile(r"(?:\+86|0086|86)[- ]?(?=1)")  # a mobile number's country code stays shown


def id_check_character(first17: str) -> str:
    """The check character of an 18-digit resident ID number (GB 11643) from its first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Found:
    """One number in a text: what it is, where it is (`text[start:end]`) and how it is written."""

    kind: Kind
    start: int
    end: int
    value: str
    masked: str


def mask_number(written: str, *, keep_head: int = 3, keep_tail: int = 4) -> str:
    """Star the digits of a number but its first three and last four; separators stay where they are."""
    places = [i for i, ch in enumerate(written) if ch.isdigit() or ch in "Xx"]
    hidden = set(places[keep_head : len(places) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(written))


class Detector:
    """Finds mobile, landline and resident ID numbers in a text (see the module docstring)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        mobile = "|".join(re.escape(p) for p in spec["mobile_prefixes"])
        short_areas = "|".join(re.escape(a) for a in spec["three_digit_area_codes"])
        self.regions = frozenset(spec["id_region_prefixes"])
        self.not_before = tuple(spec["not_before"])
        self.not_after = tuple(spec["not_after"])
        glue_before, glue_after = rf"(?<![{_GLUE}])", rf"(?![{_GLUE}])"
        country = r"(?:\+86|0086|86)[- ]?"
        self._mobile = re.compile(
            rf"{glue_before}(?:{country})?(?P<n>(?:{mobile})\d[- ]?\d{{4}}[- ]?\d{{4}}){glue_after}", re.ASCII
        )
        area = rf"(?P<paren>\()?(?:(?P<short>{short_areas})|0[3-9]\d\d)(?(paren)\))"
        self._landline = re.compile(
            rf"{glue_before}(?P<n>{area}[- ]?[2-9]\d{{6,7}})(?:(?:-|转|ext\.?)\d{{1,6}})?{glue_after}",
            re.ASCII,
        )
        self._id = re.compile(rf"{glue_before}(?P<n>\d{{17}}[\dXx]|\d{{15}}){glue_after}", re.ASCII)

    @classmethod
    def from_file(cls, path: Path) -> "Detector":
        """A detector from its data file."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def find(self, text: str) -> list[Found]:
        """The numbers in a text, in order, none overlapping (an ID number before a phone)."""
        shadow = text.translate(_SHADOW)
        candidates: list[tuple[Kind, int, int]] = []
        for m in self._id.finditer(shadow):
            if self._is_id(m.group("n")):
                candidates.append(("id_number", m.start("n"), m.end("n")))
        for m in self._mobile.finditer(shadow):
            candidates.append(("phone", m.start(), m.end("n")))
        for m in self._landline.finditer(shadow):
            local = re.sub(r"\D", "", m.group("n"))
            area_digits = 3 if m.group("short") is not None else 4
            if area_digits == 3 and len(local) != 11:
                continue  # a 3-digit area code is followed by 8 digits
            candidates.append(("phone", m.start("n"), m.end("n")))
        found: list[Found] = []
        taken_until = -1
        for kind, start, end in sorted(candidates, key=lambda c: (c[1], -(c[2] - c[1]))):
            if start < taken_until or self._excluded_by_context(shadow, start, end):
                continue
            written = text[start:end]
            found.append(Found(kind, start, end, written, self._mask(kind, shadow[start:end], written)))
            taken_until = end
        return found

    def _is_id(self, number: str) -> bool:
        if number[:2] not in self.regions:
            return False
        if len(number) == 15:
            return _real_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
        year = int(number[6:10])
        if not 1850 <= year <= 2100 or not _real_date(year, int(number[10:12]), int(number[12:14])):
            return False
        return id_check_character(number[:17]) == number[17].upper()

    def _excluded_by_context(self, shadow: str, start: int, end: int) -> bool:
        before = shadow[max(0, start - 12) : start].rstrip(_SKIPPED_BEFORE)
        after = shadow[end : end + 4].lstrip(" ")
        return before.endswith(self.not_before) or after.startswith(self.not_after)

    @staticmethod
    def _mask(kind: Kind, shadow: str, written: str) -> str:
        prefix = _COUNTRY.match(shadow) if kind == "phone" else None
        cut = prefix.end() if prefix else 0
        return written[:cut] + mask_number(written[cut:])

    def mask(self, text: str) -> str:
        """The text with every number found masked."""
        return splice(text, ((f.start, f.end, f.masked) for f in self.find(text)))


def splice(text: str, pieces: Any) -> str:
    """Put `(start, end, replacement)` pieces into a text (pieces in order, not overlapping)."""
    out, at = [], 0
    for start, end, replacement in pieces:
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


@cache
def default_detector() -> Detector:
    """The detector of the platform's data file, loaded once."""
    return Detector.from_file(DEFAULT_FILE)


def protect(
    keys: PiiKeys, text: str, *, aad: str, detector: Detector | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The text with its numbers masked, and each clear number sealed with its place:
    `[{"kind", "at": [start, end], "enc"}]` (empty when there is none)."""
    found = (detector or default_detector()).find(text)
    if not found:
        return text, []
    masked = splice(text, ((f.start, f.end, f.masked) for f in found))
    return masked, [
        {"kind": f.kind, "at": [f.start, f.end], "enc": encrypt(keys, f.value, aad=aad)} for f in found
    ]


def reveal(keys: PiiKeys, masked: str, values: list[dict[str, Any]], *, aad: str) -> str:
    """The clear text of a masked one and its sealed values."""
    pieces = sorted(values, key=lambda v: v["at"][0])
    return splice(masked, ((v["at"][0], v["at"][1], decrypt(keys, v["enc"], aad=aad)) for v in pieces))
