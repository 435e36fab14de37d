"""The shared phrase matcher agrees with the plain reference (tests/phrases_reference.py): the same
matches, the same containment, the same negation and masking, on random texts and phrase sets and on
the county package's own vocabulary."""

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.adversarial_texts import Vocabulary, families
from dispatch_common import containment, phrases
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR, REPO_ROOT
from services.intake.domain.screening import ScreeningRules
from services.routing.domain.county import CountyPackage
from tests import phrases_reference as reference

# A small alphabet, so that random phrases occur in random texts, overlap and nest; with clause breaks.
ALPHABET = "甲乙丙丁ab。;"
literal = st.text(alphabet="甲乙丙丁ab", min_size=1, max_size=4)
phrase = st.lists(literal, min_size=1, max_size=3).map(phrases.GAP_MARK.join)
weighted = st.tuples(phrase, st.integers(min_value=0, max_value=3))
texts = st.text(alphabet=ALPHABET, max_size=80)


@contextmanager
def vectors_from(size: int) -> Iterator[None]:
    """Let the grid (numpy) decide containment from `size` matches on, instead of the default."""
    default = containment.VECTOR_FROM
    containment.VECTOR_FROM = size
    try:
        yield
    finally:
        containment.VECTOR_FROM = default


def dropped(found: list[Any], strength: Callable[[Any], float] | None = None) -> list[tuple[Any, ...]]:
    """What drop_contained keeps, checked to be the same by the plain loop and by the grid."""
    with vectors_from(10**9):
        by_loop = plain(phrases.drop_contained(found, strength=strength))
    with vectors_from(2):
        assert plain(phrases.drop_contained(found, strength=strength)) == by_loop
    return by_loop


def plain(found: list[Any]) -> list[tuple[Any, ...]]:
    """Matches of either implementation as comparable tuples."""
    return [(m.phrase, m.start, m.end, m.cores, m.payload) for m in found]


def strongest(match: Any) -> float:
    return float(match.payload)


@settings(max_examples=400, deadline=None)
@given(st.lists(weighted, max_size=12), texts, st.integers(min_value=0, max_value=5))
def test_matches_and_containment_agree_with_the_reference(
    vocabulary: list[tuple[str, int]], text: str, gap: int
) -> None:
    new = phrases.PhraseMatcher(vocabulary, gap=gap).find(text)
    old = reference.PhraseMatcher(vocabulary, gap=gap).find(text)
    assert plain(new) == plain(old)
    assert dropped(new) == plain(reference.drop_contained(old))
    assert dropped(new, strongest) == plain(reference.drop_contained(old, strength=strongest))


@settings(max_examples=300, deadline=None)
@given(texts, st.lists(literal, max_size=4), st.integers(min_value=0, max_value=3))
def test_negation_agrees_with_the_reference(text: str, negators: list[str], gap: int) -> None:
    for start in range(len(text) + 1):
        assert phrases.negated(text, start, negators, gap) == reference.negated(text, start, negators, gap)


spans = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 8)).map(lambda s: (s[0], s[0] + s[1])))


@settings(max_examples=300, deadline=None)
@given(spans, st.integers(0, 48), st.integers(0, 8))
def test_masks_and_cover_agree_with_the_plain_way(
    masks: list[tuple[int, int]], start: int, size: int
) -> None:
    text = "".join(random.Random(len(masks)).choice("甲乙丙") for _ in range(48))
    assert phrases.mask_spans(text, masks) == reference.mask_spans(text, masks)
    expected = any(s <= start and start + size <= e for s, e in masks)
    assert phrases.SpanCover(masks).covers(start, start + size) == expected


def county_vocabulary() -> tuple[CountyPackage, Vocabulary]:
    package = CountyPackage.from_dir(DEFAULT_COUNTY_DIR)
    screening = ScreeningRules.from_file(
        DATA_DIR / "intake" / "screening_rules.json", DATA_DIR / "intake" / "knowledge_base.json"
    )
    return package, Vocabulary.of(package, screening)


def test_the_county_vocabulary_matches_as_before_on_real_and_adversarial_texts() -> None:
    package, vocab = county_vocabulary()
    weights = [(p, w) for by_code in package.lexicon.phrases.values() for p, w in by_code.items()]
    new = phrases.PhraseMatcher(weights, gap=package.lexicon.gap)
    old = reference.PhraseMatcher(weights, gap=package.lexicon.gap)
    lines = (REPO_ROOT / "tests" / "data" / "routing_dev_cases.jsonl").read_text(encoding="utf-8")
    samples = [json.loads(line)["text"] for line in lines.splitlines()[:60]]
    # the adversarial families, cut to 200 characters: the reference is quadratic in the matches
    samples += [text[:200] for _, text in families(vocab, random.Random(7), 1)]
    for text in map(phrases.normalize_text, samples):
        found_new, found_old = new.find(text), old.find(text)
        assert plain(found_new) == plain(found_old), text
        expected = plain(reference.drop_contained(found_old, strength=strongest))
        assert dropped(found_new, strongest) == expected, text
