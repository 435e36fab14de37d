"""Place names as people say them: the tolerant half of reading an address (see geo.py for the rest).

A dispatcher recognises `解放路50号` when only `解放路48号` is listed, `前进村二组` for `前进二组`,
`保合前进村` without its `镇`, and `三道莹村` typed for `三道营村`. `PlaceIndex`, built once per county
package, gives routing the same tolerance, in three steps tried in this order:

1. **Variants**: every gazetteer and area name is also known with its village's or town's level
   word dropped or added (`前进二组` ~ `前进村二组`, `幸福社区第1网格` ~ `幸福第1网格`), and numbers
   are read alike in Chinese and Arabic numerals (`二组` ~ `2组`). A variant shared by two places
   is dropped: it would name neither.
2. **Street and house number**: a listed name `<street><n>号` makes `<street>` known; a text naming the
   street with another number is placed where the nearest listed number of that street lies.
3. **One edit**: a name of at least `FUZZY_MIN_CHARS` characters found with one character wrong,
   missing or added (rapidfuzz's Levenshtein distance), never in a digit; shorter names only when
   their own town is named too.

Each hit carries a confidence (`CONFIDENCE`) and the reason, for the route's explanation.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from dispatch_common.numerals import NUMERAL_CHARS
from dispatch_common.phrases import PhraseMatcher, drop_contained

from .county import CountyPackage
from .models import PlaceRules
from .place_words import canon, strip_level_word

CONFIDENCE: dict[str, float] = {
    "exact": 1.0,
    "variant": 0.95,
    "group": 0.9,
    "street_same_grid": 0.9,
    "street_nearest": 0.8,
    "street_only": 0.75,
    "edit": 0.7,
}
"""How sure each way of reading a name is; a place below the rules' `places.min_confidence` is not
used, and hits within `places.ambiguity_margin` of the best that point to different places are a
real ambiguity (the manual queue), unless they share a village or town (then that one)."""

FUZZY_MIN_CHARS = 4
"""Names shorter than this are matched with an edit only when their own town is named as well."""

_STREET = re.compile(r"^(?P<street>.+?(?:大街|大道|路|街|巷))(?:(?P<number>\d+)号)?$")
_NUMBER_AFTER = re.compile(r"\d+(?=号)")
_GROUP_AFTER = re.compile(r"\d+(?:组|社|队)")


@dataclass(frozen=True, slots=True)
class Place:
    """A place a name stands for: the area codes it lies in, and the name as the package lists it."""

    name: str  # as matched (`canon`)
    grid: str | None
    village: str | None
    town: str | None
    kind: str  # "gazetteer" or "area"
    label: str  # as the package spells it

    @property
    def code(self) -> str | None:
        return self.grid or self.village or self.town


@dataclass(frozen=True, slots=True)
class PlaceHit:
    """One reading of a name in a text: which place, how sure, and why."""

    place: Place
    said: str
    how: str  # a key of CONFIDENCE
    confidence: float
    reason: str
    start: int
    end: int


class PlaceIndex:
    """Everything the tolerant reading needs, precomputed from one county package."""

    def __init__(self, package: CountyPackage) -> None:
        self.package = package
        places: list[Place] = [
            Place(canon(e.name), e.grid, e.village, e.town, "gazetteer", e.name) for e in package.gazetteer
        ]
        for area in package.areas.values():
            if area.level in ("town", "village", "grid"):
                places.append(
                    Place(
                        canon(area.name),
                        area.code if area.level == "grid" else None,
                        package.village_of(area.code),
                        package.town_of(area.code),
                        "area",
                        area.name,
                    )
                )
        self.places = places
        known = {p.name for p in places}

        # 1. Variants: level words of the place's own village and town dropped or added.
        variants: dict[str, set[int]] = defaultdict(set)
        for i, place in enumerate(places):
            for variant in self._variants(place):
                if variant not in known and len(variant) >= 3:
                    variants[variant].add(i)
        self._variants_of = {v: places[next(iter(ids))] for v, ids in variants.items() if len(ids) == 1}
        self.variants: PhraseMatcher[Place] = PhraseMatcher(self._variants_of.items())

        # 2. Streets of the gazetteer, with their listed numbers.
        streets: dict[str, list[tuple[int | None, Place]]] = defaultdict(list)
        for place in places:
            m = _STREET.match(place.name) if place.kind == "gazetteer" else None
            if m:
                number = m.group("number")
                streets[m.group("street")].append((int(number) if number else None, place))
        self.streets = dict(streets)
        self._street_matcher: PhraseMatcher[str] = PhraseMatcher((s, s) for s in self.streets)

        # Villages by their full and short names, for groups (组/社/队) the gazetteer does not list.
        villages: list[tuple[str, Place]] = []
        for place in places:
            if place.kind == "area" and place.grid is None and place.village is not None:
                villages.append((place.name, place))
                stem = strip_level_word(place.name)
                if len(stem) >= 2 and stem not in known:
                    villages.append((stem, place))
        self._villages: PhraseMatcher[Place] = PhraseMatcher(villages)

        # 3. One edit: names by their characters, for candidate windows.
        named = [(p.name, p) for p in places] + list(self._variants_of.items())
        # each name with the votes it needs: all its characters but digits, less the one wrong
        self._names = [(n, p, sum(not c.isdigit() for c in n) - 1) for n, p in named]
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for nid, (name, _, _) in enumerate(self._names):
            for offset, ch in enumerate(name):
                if not ch.isdigit():
                    postings[ch].append((nid, offset))
        self._postings = dict(postings)

    def _variants(self, place: Place) -> set[str]:
        out: set[str] = set()
        for code in (place.village, place.town):
            if code is None:
                continue
            full = canon(self.package.areas[code].name)
            stem = strip_level_word(full)
            if stem == full or len(stem) < 2:
                continue
            name = place.name
            if name.startswith(full) and name != full:
                out.add(stem + name[len(full) :])  # 幸福社区第1网格 → 幸福第1网格
            elif name.startswith(stem) and not name.startswith(full):
                out.add(full + name[len(stem) :])  # 前进2组 → 前进村2组
            elif name == full and place.kind == "area" and place.town and code == place.village:
                town = canon(self.package.areas[place.town].name)
                out.add(strip_level_word(town) + name)  # 保合前进村 (the town's 镇 dropped)
        return out

    # -- reading -------------------------------------------------------------------------------

    def variant_hits(self, text: str) -> list[PlaceHit]:
        """Names said with a level word dropped or added (text already `canon`)."""
        out = []
        for m in drop_contained(self.variants.find(text)):
            p = m.payload
            reason = f"'{m.phrase}' read as '{p.label}' (a level word dropped or added)"
            out.append(PlaceHit(p, m.phrase, "variant", CONFIDENCE["variant"], reason, m.start, m.end))
        return out

    def group_hits(self, text: str) -> list[PlaceHit]:
        """A village named with a group number (`大营4组`) that the gazetteer does not list."""
        out = []
        for m in drop_contained(self._villages.find(text)):
            after = _GROUP_AFTER.match(text, m.end)
            if after is None:
                continue
            said = text[m.start : after.end()]
            reason = f"'{said}' is a group of {m.payload.label}, which the gazetteer does not list"
            out.append(PlaceHit(m.payload, said, "group", CONFIDENCE["group"], reason, m.start, after.end()))
        return out

    def street_hits(self, text: str) -> list[PlaceHit]:
        """A listed street named with a number the gazetteer does not list, or with none."""
        out = []
        for m in drop_contained(self._street_matcher.find(text)):
            listed = self.streets[m.payload]
            after = _NUMBER_AFTER.match(text, m.end)
            said = text[m.start : after.end() + 1] if after else m.phrase
            end = after.end() + 1 if after else m.end
            numbered = [(n, p) for n, p in listed if n is not None]
            if after and numbered:
                wanted = int(after.group(0))
                gap = min(abs(n - wanted) for n, _ in numbered)
                chosen = [p for n, p in numbered if abs(n - wanted) == gap]
                grids = {p.code for _, p in listed}
                how = "street_same_grid" if len(grids) == 1 else "street_nearest"
                for p in chosen:
                    reason = f"'{said}' is on {m.payload}, where the gazetteer lists '{p.label}'" + (
                        " (the whole street lies in one place)" if len(grids) == 1 else " (nearest number)"
                    )
                    out.append(PlaceHit(p, said, how, CONFIDENCE[how], reason, m.start, end))
            else:
                for _, p in listed:
                    reason = f"'{said}' names the street {m.payload}, listed as '{p.label}'"
                    out.append(
                        PlaceHit(p, said, "street_only", CONFIDENCE["street_only"], reason, m.start, end)
                    )
        return out

    def edit_hits(self, text: str, towns_named: set[str]) -> list[PlaceHit]:
        """Names found with one character wrong, missing or added (never a digit)."""
        votes: dict[tuple[int, int], int] = defaultdict(int)
        for pos, ch in enumerate(text):
            for nid, offset in self._postings.get(ch, ()):
                votes[nid, pos - offset] += 1
        best: dict[tuple[int, int], PlaceHit] = {}
        for (nid, start), count in votes.items():
            name, place, need = self._names[nid]
            # an added or missing character shifts the characters after it by one
            shifted = max(votes.get((nid, start - 1), 0), votes.get((nid, start + 1), 0))
            if count + shifted < need or count < 2:
                continue
            if len(name) < FUZZY_MIN_CHARS and place.town not in towns_named:
                continue
            hit = self._edit_at(text, name, place, start)
            if hit is not None and (hit.start, hit.end) not in best:
                best[hit.start, hit.end] = hit
        return sorted(best.values(), key=lambda h: (h.start, -h.end))

    def _edit_at(self, text: str, name: str, place: Place, start: int) -> PlaceHit | None:
        for s in (start, start - 1, start + 1):
            for length in (len(name), len(name) - 1, len(name) + 1):
                if s < 0 or s + length > len(text):
                    continue
                window = text[s : s + length]
                if window == name or Levenshtein.distance(name, window, score_cutoff=1) > 1:
                    continue
                if any(_digit_edit(name, window, op) for op in Levenshtein.editops(name, window)):
                    continue
                reason = f"'{window}' read as '{place.label}' (one character differs)"
                return PlaceHit(place, window, "edit", CONFIDENCE["edit"], reason, s, s + length)
        return None


def _digit_edit(name: str, window: str, op: object) -> bool:
    tag, i, j = op.tag, op.src_pos, op.dest_pos  # type: ignore[attr-defined]
    chars = []
    if tag in ("replace", "delete") and i < len(name):
        chars.append(name[i])
    if tag in ("replace", "insert") and j < len(window):
        chars.append(window[j])
    return any(c.isdigit() or c in NUMERAL_CHARS for c in chars)


@dataclass(frozen=True)
class Choice:
    """The place the readings of a text agree on (None if they do not), and what to say about it."""

    place: str | None
    hits: list[PlaceHit]
    confidence: float
    evidence: list[str]
    ambiguous: list[str]


def choose(hits: list[PlaceHit], towns: set[str], villages: set[str], rules: PlaceRules) -> Choice:
    """The most specific area the best readings share; readings in a town or village the text names
    win over others; readings within `ambiguity_margin` of the best count alike."""
    evidence: list[str] = []
    if len({h.place.code for h in hits}) > 1 and (towns or villages):
        narrowed = [h for h in hits if h.place.town in towns or h.place.village in villages]
        if narrowed and len(narrowed) < len(hits):
            hits = narrowed
            evidence.append("several names matched; kept those in the town/village named")
    best = max(h.confidence for h in hits)
    kept = [h for h in hits if h.confidence >= best - rules.ambiguity_margin]
    evidence += list(dict.fromkeys(h.reason for h in kept))
    if best < rules.min_confidence:
        evidence.append(f"confidence {best:.2f} < {rules.min_confidence:.2f}: not used")
        return Choice(None, kept, best, evidence, [])
    for attr in ("grid", "village", "town"):
        values = {getattr(h.place, attr) for h in kept}
        if len(values) == 1 and None not in values:
            return Choice(values.pop(), kept, best, evidence, [])
    evidence.append("the names point to different towns; not used")
    readings = dict.fromkeys(f"'{h.said}' → {h.place.label}" for h in kept)
    return Choice(None, kept, best, evidence, list(readings))
