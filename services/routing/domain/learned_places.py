"""Places learned from people's corrections: an address the package does not know, placed by hand.

When a dispatcher places a case by its `area` (an override), the case's address becomes a place
example. The place name in it (the address without the building, unit and house details after it)
is learned once `MIN_CORRECTIONS` corrections of different cases agree on its area and none of the
others disagree; a name the package already reads is not learned. Routing uses a learned name only
where the package's own names placed nothing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dispatch_common.phrases import PhraseMatcher, drop_contained, normalize_text

from .place_words import canon

MIN_CORRECTIONS = 2
"""Corrections of different cases that must agree before an address's name is learned."""

MIN_CHARS = 3
"""A shorter name is never learned (it would match inside too many texts)."""

_DETAILS = re.compile(r"(?:\d+(?:号楼|号院|号|栋|幢|单元|室|楼|层|户)|[,，、(（]).*$")


@dataclass(frozen=True, slots=True)
class PlaceExample:
    """An address and the area a person placed its case in."""

    address: str
    area: str


@dataclass(frozen=True, slots=True)
class LearnedPlace:
    name: str
    area: str
    corrections: int


def place_name(address: str) -> str:
    """The name an address gives, without the building, unit and house details after it."""
    return _DETAILS.sub("", canon(normalize_text(address)))


class LearnedPlaces:
    """The names learned from corrections, matched as the package's own names are."""

    def __init__(self, places: Iterable[LearnedPlace]) -> None:
        self.places = list(places)
        self._matcher: PhraseMatcher[LearnedPlace] = PhraseMatcher((p.name, p) for p in self.places)

    @classmethod
    def learn(cls, examples: Iterable[PlaceExample], reads: Callable[[str], bool]) -> LearnedPlaces:
        """Names whose corrections agree (at least MIN_CORRECTIONS, none against), skipping names
        the package's own names already place (`reads`)."""
        areas: dict[str, Counter[str]] = defaultdict(Counter)
        for example in examples:
            name = place_name(example.address)
            if len(name) >= MIN_CHARS and not reads(name):
                areas[name][example.area] += 1
        learned = []
        for name, counts in sorted(areas.items()):
            (area, count), *others = counts.most_common()
            if count >= MIN_CORRECTIONS and not others:
                learned.append(LearnedPlace(name, area, count))
        return cls(learned)

    def __len__(self) -> int:
        return len(self.places)

    def match(self, text: str | None) -> LearnedPlace | None:
        """The longest learned name in the text, if exactly one area is named."""
        hits = drop_contained(self._matcher.find(canon(normalize_text(text))))
        if not hits or len({m.payload.area for m in hits}) != 1:
            return None
        return max((m.payload for m in hits), key=lambda p: len(p.name))
