"""The phrase matcher as it was before decision 0018: regular expressions and a pairwise containment
check, quadratic in the matches. Kept as the reference the fast matcher is tested against
(tests/unit/test_phrases.py); not used by the services.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from dispatch_common.phrases import CLAUSE_BREAKS, GAP_MARK, MASK_CHAR, normalize_phrase

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class PhraseMatch(Generic[P]):
    phrase: str
    start: int
    end: int
    cores: tuple[tuple[int, int], ...]  # spans of the literal parts (one for a plain phrase)
    payload: P


class PhraseMatcher(Generic[P]):
    """Finds phrases in normalized text. ``a…b`` matches *a* then *b* within ``gap`` characters
    of the same clause. Each phrase carries a payload (e.g. the codes and weights it adds)."""

    def __init__(self, phrases: Iterable[tuple[str, P]], gap: int = 8) -> None:
        self._plain: list[tuple[str, P]] = []
        self._patterns: list[tuple[str, re.Pattern[str], P]] = []
        breaks = re.escape(CLAUSE_BREAKS)
        for raw, payload in phrases:
            phrase = normalize_phrase(raw)
            parts = [p for p in phrase.split(GAP_MARK) if p]
            if not parts:
                continue
            if len(parts) == 1:
                self._plain.append((parts[0], payload))
            else:
                between = f"[^{breaks}]{{0,{gap}}}?"
                regex = between.join(f"({re.escape(p)})" for p in parts)
                self._patterns.append((phrase, re.compile(regex), payload))

    def __len__(self) -> int:
        return len(self._plain) + len(self._patterns)

    def find(self, text: str) -> list[PhraseMatch[P]]:
        found: list[PhraseMatch[P]] = []
        for phrase, payload in self._plain:
            start = text.find(phrase)
            while start != -1:
                end = start + len(phrase)
                found.append(PhraseMatch(phrase, start, end, ((start, end),), payload))
                start = text.find(phrase, start + 1)
        for phrase, pattern, payload in self._patterns:
            for m in pattern.finditer(text):
                cores = tuple(m.span(i) for i in range(1, (pattern.groups or 0) + 1))
                found.append(PhraseMatch(phrase, m.start(), m.end(), cores, payload))
        found.sort(key=lambda m: (m.start, -m.end, m.phrase))
        return found


def drop_contained(
    matches: Sequence[PhraseMatch[P]], strength: Callable[[PhraseMatch[P]], float] | None = None
) -> list[PhraseMatch[P]]:
    """Drop a match whose literal parts all lie inside literal parts of a more specific match (more
    literal characters, or as many in more parts): "工资" inside "拖欠工资" counts once, as
    "拖欠工资"; "欠…工资" inside "拖欠…工资" likewise. With `strength`, a more specific match hides
    another only when it is at least as strong: a weak long phrase never hides a strong one in it."""

    def weight(m: PhraseMatch[P]) -> tuple[int, int]:
        return sum(e - s for s, e in m.cores), len(m.cores)

    kept: list[PhraseMatch[P]] = []
    for m in matches:
        suppressed = False
        for o in matches:
            if o is m or o.phrase == m.phrase or weight(o) <= weight(m):
                continue
            if strength is not None and strength(o) < strength(m):
                continue
            if all(any(cs <= s and e <= ce for cs, ce in o.cores) for s, e in m.cores):
                suppressed = True
                break
        if not suppressed:
            kept.append(m)
    return kept


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = MASK_CHAR
    return "".join(chars)


def negated(text: str, start: int, negators: Sequence[str], gap: int) -> bool:
    """Whether one of ``negators`` ends within ``gap`` characters before ``start``."""
    for negator in negators:
        for slack in range(gap + 1):
            end = start - slack
            if end >= len(negator) and text[end - len(negator) : end] == negator:
                return True
    return False
