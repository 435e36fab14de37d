"""The worst texts of a county's own vocabulary: what bench/adversarial_input.py feeds the services.

Every word comes from the data the services match against: the lexicon (plain and ``a…b`` phrases),
the routing rules (flag phrases, masks, negations, negators, tier phrases), intake's screening rules
and knowledge base, and the place names (gazetteer, areas, village stems). Each family of texts
stresses one part of the matching: many overlapping hits of a few phrases, lattices of ``a…b``
parts, every phrase once, hits that are all negated or masked, place names, clause breaks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dispatch_common.phrases import CLAUSE_BREAKS, GAP_MARK, PhraseMatcher, normalize_phrase
from services.intake.domain.screening import PhraseSet, ScreeningRules
from services.routing.domain.county import CountyPackage
from services.routing.domain.place_words import LEVEL_WORDS

TEXT_CHARS = 5000
"""The longest text a case may carry (SubmitCase.text, the events' schemas)."""


def _norm(phrases: Iterable[str]) -> list[str]:
    return sorted({p for p in (normalize_phrase(x) for x in phrases) if p.replace(GAP_MARK, "")})


@dataclass(frozen=True)
class Vocabulary:
    """The county's words, normalized, by the part of the matching they feed."""

    lexicon: list[str]
    flags: list[str]
    masks: list[str]
    negators: list[str]
    screening: list[str]
    places: list[str]

    @classmethod
    def of(cls, package: CountyPackage, screening: ScreeningRules) -> Vocabulary:
        """Everything routing and screening match against, from the package and the rules."""
        rules = package.rules
        lexicon = [p for phrases in package.lexicon.phrases.values() for p in phrases]
        flags = [p for f in rules.flags.values() for p in (*f.phrases, *f.negations)]
        flags += [p for t in rules.tiers for p in t.phrases]
        masks = [p for f in rules.flags.values() for p in f.masks] + list(package.lexicon.ignore)
        negators = [n for f in rules.flags.values() for n in f.negators]
        negators += [n for t in rules.tiers for n in t.negators]
        f = screening.file
        sets: list[PhraseSet] = [*f.emergencies, *f.rules, *f.natures, *f.hotline_natures]
        said = [p for s in sets for p in s.phrases]
        said += [p for e in screening.kb.entries for group in e.all_of for p in group]
        masks += [p for s in sets for p in s.masks]
        negators += [n for s in sets for n in s.negators]
        names = [a.name for a in package.areas.values()] + [e.name for e in package.gazetteer]
        stems = [n[: -len(s)] for n in names for s in LEVEL_WORDS if n.endswith(s) and len(n) > len(s)]
        return cls(
            lexicon=_norm(lexicon),
            flags=_norm(flags),
            masks=_norm(masks),
            negators=_norm(negators),
            screening=_norm(said),
            places=_norm(names + stems),
        )

    @property
    def phrases(self) -> list[str]:
        """Every phrase that raises something (not masks, negators or places)."""
        return sorted({*self.lexicon, *self.flags, *self.screening})

    def parts(self) -> list[str]:
        """The literal parts of the ``a…b`` phrases, the most shared first."""
        counts: dict[str, int] = {}
        for phrase in self.phrases:
            if GAP_MARK in phrase:
                for part in filter(None, phrase.split(GAP_MARK)):
                    counts[part] = counts.get(part, 0) + 1
        return sorted(counts, key=lambda p: (-counts[p], p))


def _literal(phrase: str, rng: random.Random, filler: str = "") -> str:
    """A phrase as text: ``a…b`` written as a, then the filler (or, half the time, 了), then b."""
    between = filler if filler or rng.random() < 0.5 else "了"
    return between.join(p for p in phrase.split(GAP_MARK) if p)


def fill(pieces: Callable[[], str], chars: int = TEXT_CHARS) -> str:
    """Pieces one after the other up to exactly `chars` characters."""
    out: list[str] = []
    size = 0
    while size < chars:
        piece = pieces() or "。"
        out.append(piece)
        size += len(piece)
    return "".join(out)[:chars]


def densest(vocab: Vocabulary, count: int) -> list[str]:
    """The phrases whose repetition gives the most hits per character, over all the vocabulary."""
    matcher = PhraseMatcher([(p, None) for p in [*vocab.phrases, *vocab.masks, *vocab.places]], gap=8)
    rng = random.Random(0)
    scored = []
    for phrase in vocab.phrases:
        unit = _literal(phrase, rng, "")
        if unit:
            sample = unit * 6
            scored.append((len(matcher.find(sample)) / len(sample), unit))
    scored.sort(reverse=True)
    return [unit for _, unit in scored[:count]]


def families(vocab: Vocabulary, rng: random.Random, per_family: int) -> list[tuple[str, str]]:
    """`per_family` texts of TEXT_CHARS characters of each family, named."""
    choice = rng.choice
    parts = vocab.parts()[:40]
    negators, breaks = vocab.negators or ["没有"], list(CLAUSE_BREAKS.strip())
    everything = [*vocab.phrases, *vocab.masks, *vocab.places, *vocab.negators]
    makers: dict[str, Callable[[], str]] = {
        "gap_lattice": lambda: choice(parts),
        "every_phrase": lambda: _literal(choice(vocab.phrases), rng),
        "negated": lambda: choice(negators) + _literal(choice([*vocab.flags, *vocab.screening]), rng),
        "masked": lambda: _literal(choice(vocab.masks), rng) + _literal(choice(vocab.flags), rng),
        "places": lambda: choice(vocab.places),
        "screening": lambda: choice(["", *negators]) + _literal(choice(vocab.screening), rng),
        "clauses": lambda: _literal(choice(vocab.phrases), rng) + choice(breaks),
        "mixed": lambda: _literal(choice(everything), rng, choice(["", "", "我", "。"])),
    }
    out = [(f"repeat:{unit}", fill(lambda u=unit: u)) for unit in densest(vocab, per_family * 2)]
    for name, make in makers.items():
        out += [(name, fill(make)) for _ in range(per_family)]
    return out
