"""The ``a…b`` phrases of `phrases.PhraseMatcher`, assembled from where their literal parts occur.

The result is that of ``re.finditer`` over ``a[^breaks]{0,gap}?b`` (and so on for more parts), which
the matcher used before (docs/decisions/0018): for each phrase, its matches from left to right, each
starting at the leftmost occurrence of *a* at or after the end of the previous one, with the shortest
gaps that work (a lazy quantifier's choice, the first gap before the second), no clause break in a
gap. Instead of one regular expression per phrase over the whole text, each occurrence of a first part
looks at the few positions after it and at the literals that start there, so the cost follows the
occurrences, not the number of phrases times the length of the text.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

Cores = tuple[tuple[int, int], ...]
Hit = tuple[str, int, int, Cores, Any]
"""A match as the fields of `phrases.PhraseMatch`: phrase, start, end, cores, payload."""


@dataclass(frozen=True, slots=True)
class GapPhrase:
    """An ``a…b`` phrase: its literal parts (as literal ids) and their lengths, and its payload."""

    number: int  # its place among the matcher's ``a…b`` phrases
    phrase: str
    parts: tuple[int, ...]
    lengths: tuple[int, ...]
    payload: Any


class GapIndex:
    """A matcher's ``a…b`` phrases by their first two literals."""

    def __init__(self, phrases: list[GapPhrase], breaks: str, gap: int) -> None:
        pairs: dict[int, dict[int, list[GapPhrase]]] = defaultdict(lambda: defaultdict(list))
        for g in phrases:  # in the matcher's order: identical phrases keep it
            pairs[g.parts[0]][g.parts[1]].append(g)
        self.pairs = {a: {b: tuple(gs) for b, gs in by.items()} for a, by in pairs.items()}
        self.sizes = {g.parts[0]: g.lengths[0] for g in phrases}  # the first literals and their lengths
        self.later = frozenset(p for g in phrases for p in g.parts[1:])
        self.breaks = re.compile(f"[{re.escape(breaks)}]")
        self.gap = gap

    def search(self, text: str, firsts: dict[int, list[int]], later: dict[int, list[int]]) -> list[Hit]:
        """The matches, given where the first parts and the later parts start (each ascending)."""
        return _Search(self, text, later).run(firsts)


class _Search:
    def __init__(self, index: GapIndex, text: str, later: dict[int, list[int]]) -> None:
        self.index, self.later = index, later
        self.breaks = [m.start() for m in index.breaks.finditer(text)]
        self.failed: set[tuple[int, int, int]] = set()  # (phrase, part, start) that lead nowhere

    def reach(self, end: int) -> int:
        """The last start of the next part after a part ending at `end`: within the gap, same clause."""
        i = bisect.bisect_left(self.breaks, end)
        limit = end + self.index.gap
        return min(limit, self.breaks[i]) if i < len(self.breaks) else limit

    def run(self, firsts: dict[int, list[int]]) -> list[Hit]:
        found: list[Hit] = []
        for a, starts in firsts.items():
            size = self.index.sizes[a]
            for b, phrases in self.index.pairs[a].items():
                if b not in self.later:
                    continue
                for g in phrases:  # identical phrases in the matcher's order
                    found += self.matches(g, starts, size)
        return found

    def matches(self, g: GapPhrase, starts: list[int], size: int) -> list[Hit]:
        """One phrase's matches, left to right, as re.finditer finds them."""
        found: list[Hit] = []
        seconds = self.later[g.parts[1]]
        after = 0  # the end of the last match: the next one starts there or later
        for start in starts:
            if start < after:
                continue
            end = start + size
            i = bisect.bisect_left(seconds, end)
            if i == len(seconds):
                break  # no second part after this start, nor after any later one
            hi = self.reach(end)
            while i < len(seconds) and seconds[i] <= hi:
                rest = self.chain(g, 1, seconds[i])
                if rest is not None:
                    found.append((g.phrase, start, rest[-1][1], ((start, end), *rest), g.payload))
                    after = rest[-1][1]
                    break
                i += 1
        return found

    def chain(self, g: GapPhrase, k: int, start: int) -> Cores | None:
        """The cores of parts k.. with part k at `start`, shortest gaps first (a lazy regex's choice)."""
        end = start + g.lengths[k]
        if k == len(g.parts) - 1:
            return ((start, end),)
        key = (g.number, k, start)
        if key in self.failed:
            return None
        nexts = self.later.get(g.parts[k + 1], [])
        i, hi = bisect.bisect_left(nexts, end), self.reach(end)
        while i < len(nexts) and nexts[i] <= hi:
            rest = self.chain(g, k + 1, nexts[i])
            if rest is not None:
                return ((start, end), *rest)
            i += 1
        self.failed.add(key)
        return None
