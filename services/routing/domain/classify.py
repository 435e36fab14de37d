"""Explainable content classification from a phrase lexicon (data: lexicon.json).

Every matched phrase adds its weight to the taxonomy codes it names; a first-level code also
collects the scores of its children. The winner's share of all scores and its absolute strength
give the confidence, and the matched phrases are the evidence. This is the seam where a
statistical classifier will later plug in: anything with ``classify(text) -> CategoryChoice``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from dispatch_common.phrases import (
    PhraseMatch,
    PhraseMatcher,
    drop_contained,
    mask_spans,
    normalize_phrase,
    normalize_text,
)

from .county import CountyPackage
from .models import CategoryChoice


class CategoryClassifier(Protocol):
    """What decide() needs of a classifier: the text it matches, and a category with evidence."""

    def prepare(self, text: str | None) -> str: ...

    def classify(self, text: str | None) -> CategoryChoice: ...


def taxonomy_fragments(name: str, separators: Sequence[str]) -> list[str]:
    """Words of a category name usable as weak evidence: the name split on conjunctions."""
    parts = [name]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [p for p in (normalize_text(p) for p in parts) if len(p) >= 2]


CLASSIFIED_CHARS = 2000  # the lexicon reads this much of a text (the learned model: LEARNED_CHARS)


class PhraseWeights(NamedTuple):
    """What a lexicon phrase adds: a weight per taxonomy code (with the code's first-level code),
    and the largest of them, its strength."""

    strength: float
    codes: tuple[tuple[str, float, str | None], ...]


def _strongest(match: PhraseMatch[PhraseWeights]) -> float:
    return match.payload.strength


class Classifier:
    """Lexicon classifier over the package's taxonomy."""

    def __init__(self, package: CountyPackage) -> None:
        self.package = package
        self.taxonomy = package.taxonomy
        lexicon = package.lexicon
        self._k = lexicon.strength_k
        table: dict[str, dict[str, float]] = defaultdict(dict)
        for code, phrases in lexicon.phrases.items():
            for phrase, weight in phrases.items():
                table[normalize_phrase(phrase)][code] = float(weight)
        # Weak evidence: the words of the taxonomy names themselves (unless the lexicon says otherwise).
        names = [*self.taxonomy.first.items(), *((c, n) for c, (_, n) in self.taxonomy.sub.items())]
        for code, name in names:
            for fragment in taxonomy_fragments(name, lexicon.taxonomy_name_separators):
                table[fragment].setdefault(code, lexicon.taxonomy_name_weight)
        self._matcher: PhraseMatcher[PhraseWeights] = PhraseMatcher(
            ((phrase, self._weights(codes)) for phrase, codes in table.items()), gap=lexicon.gap
        )
        # Text hidden before matching: boilerplate from the lexicon, and every place name, so that
        # a village called after a tree or a school does not read as a complaint about one.
        hidden = [*lexicon.ignore, *(a.name for a in package.areas.values())]
        hidden += [e.name for e in package.gazetteer]
        self._hide: PhraseMatcher[None] = PhraseMatcher(((h, None) for h in hidden if h), gap=lexicon.gap)
        self._order = {code: i for i, code in enumerate([*self.taxonomy.first, *self.taxonomy.sub])}

    def _weights(self, codes: dict[str, float]) -> PhraseWeights:
        first = self.taxonomy.first_level
        return PhraseWeights(
            max(codes.values(), default=0.0), tuple((c, w, first(c)) for c, w in codes.items())
        )

    def prepare(self, text: str | None) -> str:
        """Normalized text with place names and boilerplate hidden: what phrases are matched against."""
        normalized = normalize_text(text)
        return mask_spans(normalized, ((m.start, m.end) for m in self._hide.find(normalized)))

    def scores(self, text: str | None) -> tuple[dict[str, float], list[PhraseMatch[PhraseWeights]]]:
        """Raw score per taxonomy code (first-level codes include their children) and the matches, of
        the text's first CLASSIFIED_CHARS characters: what a complaint is about is said before that,
        and a longer text (a letter of several pages, or a flood of one phrase) costs no more."""
        head = text[:CLASSIFIED_CHARS] if text else text
        matches = drop_contained(self._matcher.find(self.prepare(head)), strength=_strongest)
        scores: dict[str, float] = defaultdict(float)
        for m in matches:
            for code, weight, first in m.payload.codes:
                scores[code] += weight
                if first is not None and first != code:
                    scores[first] += weight
        return dict(scores), matches

    def classify(self, text: str | None) -> CategoryChoice:
        scores, matches = self.scores(text)
        firsts = {c: s for c, s in scores.items() if c in self.taxonomy.first and s > 0}
        if not firsts:
            return CategoryChoice(code=None, subcode=None, confidence=0.0, evidence=[])
        code = max(firsts, key=lambda c: (firsts[c], -self._order[c]))
        top = firsts[code]
        children = self.taxonomy.children(code)
        scored = {c: scores[c] for c in children if scores.get(c, 0) > 0}
        if scored:
            subcode: str | None = max(scored, key=lambda c: (scored[c], -self._order[c]))
        else:
            subcode = children[0] if len(children) == 1 else None
        share = top / sum(firsts.values())
        strength = top / (top + self._k)
        evidence: dict[str, None] = {}  # the phrases in the order they first occur
        for m in matches:
            if m.phrase in evidence:
                continue
            if any(first == code and w > 0 for _, w, first in m.payload.codes):
                evidence[m.phrase] = None
        return CategoryChoice(
            code=code, subcode=subcode, confidence=round(share * strength, 3), evidence=list(evidence)
        )
