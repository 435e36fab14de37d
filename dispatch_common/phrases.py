"""Phrase matching over normalized Chinese text, shared by intake's screening and routing.

A phrase is literal text, or ``a…b``: *a* then *b* within a few characters of the same clause.
All vocabulary is data (screening rules, routing lexicon); this module only finds it.

Cost is near-linear in the text and in the matches (docs/decisions/0018): every literal part of
every phrase is found in one pass of an Aho-Corasick automaton (pyahocorasick); an ``a…b`` phrase
is then assembled from the positions of its parts, as ``re.finditer`` over ``a[^breaks]{0,gap}?b``
would (leftmost start, shortest gaps, matches do not overlap); `drop_contained` looks for a
covering match only among the cores that contain a match's first core.
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, NamedTuple, TypeVar

import ahocorasick

from dispatch_common.containment import Containment
from dispatch_common.gap_search import GapIndex, GapPhrase

GAP_MARK = "…"
MASK_CHAR = "\u3000"  # never survives normalize_text, so masked text cannot match any phrase
CLAUSE_BREAKS = "。！？；!?;\n"

P = TypeVar("P")


def normalize_text(text: str | None) -> str:
    """NFKC (full-width → half-width), lower-case Latin letters, all whitespace removed."""
    if not text:
        return ""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def normalize_phrase(phrase: str) -> str:
    return GAP_MARK.join(normalize_text(part) for part in phrase.split(GAP_MARK))


class PhraseMatch(NamedTuple, Generic[P]):
    """One occurrence of a phrase: where it starts and ends, where its literal parts are, its payload.

    A named tuple: texts of thousands of hits make thousands of these, and a tuple is made in C."""

    phrase: str
    start: int
    end: int
    cores: tuple[tuple[int, int], ...]  # spans of the literal parts (one for a plain phrase)
    payload: P


class PhraseMatcher(Generic[P]):
    """Finds phrases in normalized text. ``a…b`` matches *a* then *b* within ``gap`` characters
    of the same clause. Each phrase carries a payload (e.g. the codes and weights it adds)."""

    def __init__(self, phrases: Iterable[tuple[str, P]], gap: int = 8) -> None:
        literals: dict[str, int] = {}
        plain: list[list[tuple[str, P]]] = []  # per literal: the plain phrases it is
        gapped: list[GapPhrase] = []
        self._size = 0
        for raw, payload in phrases:
            phrase = normalize_phrase(raw)
            parts = [p for p in phrase.split(GAP_MARK) if p]
            if not parts:
                continue
            self._size += 1
            ids = []
            for part in parts:
                if part not in literals:
                    literals[part] = len(plain)
                    plain.append([])
                ids.append(literals[part])
            if len(parts) == 1:
                plain[ids[0]].append((parts[0], payload))
            else:
                gapped.append(GapPhrase(len(gapped), phrase, tuple(ids), tuple(map(len, parts)), payload))
        self._gaps = GapIndex(gapped, CLAUSE_BREAKS, gap)
        self._automaton: ahocorasick.Automaton | None = None
        if literals:
            self._automaton = ahocorasick.Automaton()
            for text, i in literals.items():
                # what a hit of the literal needs: its id, its length, the plain phrases it is, and
                # whether it starts ``a…b`` phrases or is a later part of one
                first, later = i in self._gaps.sizes, i in self._gaps.later
                self._automaton.add_word(text, (i, len(text), tuple(plain[i]), first, later))
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self._size

    def find(self, text: str) -> list[PhraseMatch[P]]:
        """Every match, ordered by start, then longest first, then phrase (plain before ``a…b``)."""
        if self._automaton is None or not text:
            return []
        found: list[PhraseMatch[P]] = []
        add, new = found.append, tuple.__new__  # a named tuple made without its Python-level __new__
        firsts: dict[int, list[int]] = defaultdict(list)  # first literal -> where it starts, ascending
        later: dict[int, list[int]] = defaultdict(list)  # later literal -> where it starts, ascending
        for last, (literal, length, plain, first, is_later) in self._automaton.iter(text):
            start, end = last + 1 - length, last + 1
            if plain:
                cores = ((start, end),)
                for phrase, payload in plain:
                    add(new(PhraseMatch, (phrase, start, end, cores, payload)))
            if first:
                firsts[literal].append(start)
            if is_later:
                later[literal].append(start)
        if firsts and later:
            found += (new(PhraseMatch, hit) for hit in self._gaps.search(text, firsts, later))
        found.sort(key=_order)
        return found


def _order(m: PhraseMatch[P]) -> tuple[int, int, str]:
    return m.start, -m.end, m.phrase


@functools.lru_cache(maxsize=512)
def phrase_matcher(phrases: tuple[str, ...]) -> PhraseMatcher[None]:
    """One compiled matcher per list of phrases (rules are data, reloaded as new objects: keyed by the
    phrases themselves, so a reload with the same phrases compiles nothing, and old lists age out)."""
    return PhraseMatcher((p, None) for p in phrases)


def drop_contained(
    matches: Sequence[PhraseMatch[P]], strength: Callable[[PhraseMatch[P]], float] | None = None
) -> list[PhraseMatch[P]]:
    """Drop a match whose literal parts all lie inside literal parts of a more specific match (more
    literal characters, or as many in more parts): "工资" inside "拖欠工资" counts once, as
    "拖欠工资"; "欠…工资" inside "拖欠…工资" likewise. With `strength`, a more specific match hides
    another only when it is at least as strong: a weak long phrase never hides a strong one in it.
    Near-linear in the matches (dispatch_common/containment.py)."""
    if len(matches) < 2:
        return list(matches)
    powers = [strength(m) for m in matches] if strength is not None else None
    hidden = Containment([m.cores for m in matches], [m.phrase for m in matches], powers).hidden()
    return [m for m, gone in zip(matches, hidden, strict=True) if not gone]


class SpanCover:
    """Whether a span lies inside one of a set of spans (masks), in O(log n) per question."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self._starts = [s for s, _ in ordered]
        self._reach: list[int] = []  # the furthest end among the spans starting up to here
        furthest = -1
        for _, end in ordered:
            furthest = max(furthest, end)
            self._reach.append(furthest)

    def covers(self, start: int, end: int) -> bool:
        """Some span starts at or before `start` and ends at or after `end`."""
        i = bisect.bisect_right(self._starts, start)
        return i > 0 and self._reach[i - 1] >= end


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with every character of the spans replaced by MASK_CHAR (overlaps merged first)."""
    out: list[str] = []
    done = 0  # text before `done` is copied or masked already
    for start, end in sorted(spans):
        start = max(start, done)
        if end <= start:
            continue
        out += (text[done:start], MASK_CHAR * (end - start))
        done = end
    out.append(text[done:])
    return "".join(out)


def negated(text: str, start: int, negators: Sequence[str], gap: int) -> bool:
    """Whether one of ``negators`` ends within ``gap`` characters before ``start``."""
    suffixes = tuple(negators)
    if not suffixes:
        return False
    for end in range(start, start - gap - 1, -1):
        if end < 0:
            break
        if text.endswith(suffixes, 0, end):
            return True
    return False
