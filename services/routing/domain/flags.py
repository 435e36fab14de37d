"""Flags: special handling a case needs besides its lead unit. All vocabulary is in routing_rules.json."""

from __future__ import annotations

from dispatch_common.phrases import SpanCover, drop_contained, negated, normalize_text, phrase_matcher

from .models import FLAG_NAMES, CategoryChoice, FlagRule, RoutingRules


class _CompiledFlag:
    def __init__(self, rule: FlagRule) -> None:
        self.rule = rule
        self.phrases = phrase_matcher(tuple(rule.phrases))
        self.masks = phrase_matcher(tuple(rule.masks))
        self.negations = phrase_matcher(tuple(rule.negations))
        self.negators = sorted({normalize_text(n) for n in rule.negators if n}, key=len, reverse=True)


_COMPILED: dict[int, tuple[RoutingRules, dict[str, _CompiledFlag]]] = {}


def _compile(rules: RoutingRules) -> dict[str, _CompiledFlag]:
    """The flags of a rules object, looked up by identity on every decision (rules are frozen); the
    matchers themselves are shared by phrase list (dispatch_common.phrases.phrase_matcher)."""
    hit = _COMPILED.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    compiled = {name: _CompiledFlag(rules.flag(name)) for name in FLAG_NAMES}
    if len(_COMPILED) >= 16:
        _COMPILED.clear()
    _COMPILED[id(rules)] = (rules, compiled)
    return compiled


def _category_hit(codes: list[str], category: CategoryChoice) -> str | None:
    for code in (category.subcode, category.code):
        if code is not None and code in codes:
            return code
    return None


def detect_flags(
    text: str,
    category: CategoryChoice,
    people_count: int | None,
    rules: RoutingRules,
    earlier_cases: int = 0,
) -> list[tuple[str, str]]:
    """Every flag the case raises, in FLAG_NAMES order, each with a line of evidence.

    ``text`` may be raw or already prepared by the classifier (place names hidden); it is normalized
    here either way.
    """
    normalized = normalize_text(text)
    out: list[tuple[str, str]] = []
    for name, flag in _compile(rules).items():
        rule = flag.rule
        excluded = _category_hit(rule.exclude_categories, category)
        if excluded is not None:
            continue
        negation = flag.negations.find(normalized)
        if negation:
            continue
        evidence: str | None = None
        if rule.min_people is not None and people_count is not None and people_count >= rule.min_people:
            evidence = f"people_count {people_count} >= {rule.min_people}"
        repeats = rule.min_earlier_cases
        if evidence is None and repeats is not None and earlier_cases >= repeats:
            evidence = f"the petitioner's {earlier_cases} earlier cases >= {rule.min_earlier_cases}"
        code = _category_hit(rule.categories, category)
        if evidence is None and code is not None:
            evidence = f"category {code}"
        if evidence is None and len(flag.phrases):
            masked = SpanCover((m.start, m.end) for m in flag.masks.find(normalized))
            for m in drop_contained(flag.phrases.find(normalized)):
                if masked.covers(m.start, m.end):
                    continue
                if negated(normalized, m.start, flag.negators, rules.negation_gap):
                    continue
                evidence = f"phrase '{m.phrase}'"
                break
        if evidence is not None:
            out.append((name, evidence))
    return out
