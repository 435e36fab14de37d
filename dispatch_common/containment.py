"""Which phrase matches lie inside a more specific match: the rule of `phrases.drop_contained`, on spans.

A match is its cores (the spans of its literal parts), its weight (literal characters, then parts)
and, optionally, its strength. Match *m* is hidden by match *o* when o is more specific (heavier),
at least as strong, of another phrase, and every core of m lies inside a core of o.

A core containing m's first core starts at most the longest core's length before it, so the cost is
linear in the matches (times the longest literal), never pairwise (docs/decisions/0018):

- few matches: for each match, the cores starting in that window, and their owners from the heaviest
  down (a plain loop);
- many matches: a grid by (length, start) of the heaviest owner at least as strong as each level of
  strength, its running maximum over longer lengths, and one gather per start offset (numpy), which
  settles every match of one core, and every match of several cores that one heavier core holds
  whole; a match of several cores that something heavier covers only in its first core is then
  checked by the plain loop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain

import numpy as np

Cores = tuple[tuple[int, int], ...]

VECTOR_FROM = 64
"""From this many matches on, the grid (numpy) decides; below it, the plain loop is cheaper."""


def weight(cores: Cores) -> int:
    """Literal characters, then parts, as one comparable integer."""
    return (sum(e - s for s, e in cores) << 16) | len(cores)


class Containment:
    """The hidden matches of one list of matches."""

    def __init__(
        self, cores: Sequence[Cores], phrases: Sequence[str], powers: Sequence[float] | None
    ) -> None:
        self.cores, self.phrases, self.powers = cores, phrases, powers
        self.weights = [((c[0][1] - c[0][0]) << 16) | 1 if len(c) == 1 else weight(c) for c in cores]
        self._owners: dict[tuple[int, int], list[int]] | None = None

    def hidden(self) -> list[bool]:
        """For each match, whether a more specific match hides it."""
        if len(self.cores) < VECTOR_FROM:
            return [self.hidden_one(i) for i in range(len(self.cores))]
        first, whole = self._covered_by_heavier()
        counts = self._counts
        hidden = first & ((counts == 1) | whole)
        several = np.flatnonzero(first & ~whole & (counts > 1))
        if len(several):
            hidden[several] = self._hidden_among_several(several)
        return hidden.tolist()

    def _index(self) -> tuple[dict[tuple[int, int], list[int]], dict[int, list[tuple[int, int]]], int]:
        if self._owners is None:
            owners: dict[tuple[int, int], list[int]] = defaultdict(list)
            for i, cores in enumerate(self.cores):
                for core in cores:
                    owners[core].append(i)
            by_start: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for core, held in owners.items():
                held.sort(key=self.weights.__getitem__, reverse=True)
                by_start[core[0]].append(core)
            self._owners, self._by_start = owners, by_start
            self._longest = max(e - s for s, e in owners)
        return self._owners, self._by_start, self._longest

    def hidden_one(self, i: int) -> bool:
        """Whether match i is hidden: the owners of the cores around its first core, heaviest first."""
        owners, by_start, longest = self._index()
        cores, weights, powers = self.cores, self.weights, self.powers
        mine, heavy = cores[i], weights[i]
        s, e = mine[0]
        for cs in range(max(0, e - longest), s + 1):
            for core in by_start.get(cs, ()):
                if core[1] < e:
                    continue
                for j in owners[core]:
                    if weights[j] <= heavy:
                        break  # owners are sorted: none further is more specific
                    if (powers is not None and powers[j] < powers[i]) or self.phrases[j] == self.phrases[i]:
                        continue
                    others = cores[j]
                    if all(any(a <= s2 and e2 <= b for a, b in others) for s2, e2 in mine[1:]):
                        return True
        return False

    def _covered_by_heavier(self) -> tuple[np.ndarray, np.ndarray]:
        """For each match, whether one core has an owner that is heavier and at least as strong around
        its first core (for a match of one core, exactly whether it is hidden), and around its whole
        span (then it is hidden: that core holds all of its cores)."""
        n = len(self.cores)
        counts = np.fromiter(map(len, self.cores), dtype=np.int64, count=n)
        spans = np.fromiter(chain.from_iterable(chain.from_iterable(self.cores)), dtype=np.int64)
        spans = spans.reshape(-1, 2)  # every core of every match, in order
        starts, lengths = spans[:, 0], spans[:, 1] - spans[:, 0]
        owner = np.repeat(np.arange(n), counts)
        first = spans[np.cumsum(counts) - counts]
        whole = np.stack((first[:, 0], spans[np.cumsum(counts) - 1, 1]), axis=1)
        longest = int(lengths.max())
        weights = np.array(self.weights, dtype=np.int64)
        powers = np.zeros(n) if self.powers is None else np.array(self.powers, dtype=float)
        # the heaviest owner of a core by (length, start), among the owners at least as strong as the
        # level; one spare row (longer than any core) and one spare column (before the text), empty
        heaviest = np.full((longest + 2, int(starts.max()) + 2), -1, dtype=np.int64)
        longer = np.empty_like(heaviest)
        backs = np.arange(longest + 1)
        around = np.full((2, n), -1, dtype=np.int64)
        levels, level_of = np.unique(powers, return_inverse=True)
        owner_level = level_of[owner]
        for level in range(len(levels) - 1, -1, -1):  # the strongest first
            entering = owner_level == level
            np.maximum.at(heaviest, (lengths[entering], starts[entering]), weights[owner[entering]])
            np.copyto(longer, heaviest)
            for size in range(longest - 1, 0, -1):  # this length or longer (row by row: numpy's
                np.maximum(longer[size], longer[size + 1], out=longer[size])  # accumulate is slow)
            mine = np.flatnonzero(level_of == level)
            for k, span in enumerate((first, whole)):
                at = span[mine, 0:1] - backs  # a covering core starts this far back ...
                size = np.minimum(span[mine, 1:2] - at, longest + 1)  # ... and is at least this long
                at[at < 0] = heaviest.shape[1] - 1
                around[k, mine] = longer[size, at].max(axis=1)
        self._counts, self._spans, self._owner, self._first = counts, spans, owner, first
        self._weights_array, self._powers_array, self._longest = weights, powers, longest
        return around[0] > weights, around[1] > weights

    def _hidden_among_several(self, several: np.ndarray) -> np.ndarray:
        """`hidden_one` for these matches of several cores, all at once: every (match, owner of a core
        around its first core) pair that is heavier, as strong, of another phrase, and holds each of
        the match's cores in one of its own."""
        counts, spans, owner, first = self._counts, self._spans, self._owner, self._first
        weights, powers, longest = self._weights_array, self._powers_array, self._longest
        order = np.argsort(spans[:, 0], kind="stable")
        starts, ends, owners = spans[order, 0], spans[order, 1], owner[order]
        s, e = first[several, 0], first[several, 1]
        lo, hi = np.searchsorted(starts, e - longest, "left"), np.searchsorted(starts, s, "right")
        sizes = hi - lo
        match = np.repeat(several, sizes)
        at = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes) + np.repeat(lo, sizes)
        other = owners[at]
        ids: dict[str, int] = {}
        phrase = np.array([ids.setdefault(p, len(ids)) for p in self.phrases], dtype=np.int64)
        keep = (
            (ends[at] >= np.repeat(e, sizes))
            & (weights[other] > weights[match])
            & (powers[other] >= powers[match])
            & (phrase[other] != phrase[match])
        )
        match, other = match[keep], other[keep]
        # each match's cores, and each owner's, by position (k at most); padding that never counts
        k = int(counts.max())
        place = np.arange(len(spans)) - np.repeat(np.cumsum(counts) - counts, counts)
        theirs = np.tile(np.array([1, 0], dtype=np.int64), (len(counts), k, 1))  # an empty span
        theirs[owner, place] = spans
        mine = np.repeat(first[:, None, :], k, axis=1)  # padded with the first core (held already)
        mine[owner, place] = spans
        a, b = mine[match], theirs[other]
        held = ((b[:, None, :, 0] <= a[:, :, None, 0]) & (a[:, :, None, 1] <= b[:, None, :, 1])).any(axis=2)
        out = np.zeros(len(counts), dtype=bool)
        out[match[held.all(axis=1)]] = True
        return out[several]
