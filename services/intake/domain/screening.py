"""Screening (甄别) as the 《信访工作条例》 asks: accept, refuse with a reason, redirect, transfer or answer.

Every word the screening looks for, every reason it gives and the order of its rules are data
(``data/intake/screening_rules.json`` and ``knowledge_base.json``), versioned and reloadable. This
module only applies them, in a fixed order of precedence that follows the law's priorities:

1. an emergency (fire, crime in progress, risk to life) is transferred to 110/119/120 at once;
2. a request too thin to screen waits for a person (manual queue);
3. a place outside the county is transferred to the competent county;
4. the ordered rules of the file: matters in litigation (诉访分离), matters not to be accepted,
   matters a person must look at;
5. a hotline consultation the knowledge base answers is answered and closed;
6. anything else is accepted.

Only strong, explicit cues refuse or redirect; anything doubtful goes to a person.
"""

from dataclasses import dataclass

from pydantic import BaseModel, Field

from dispatch_common.phrases import PhraseMatcher, SpanCover, drop_contained, negated, normalize_text
from services.intake.domain.screening_rules import (  # the rules' names, kept importable from here
    KB_FILE,
    RULES_FILE,
    RULES_WHERE,
    HotlineNature,
    KnowledgeEntry,
    Nature,
    NatureRule,
    Outcome,
    PhraseSet,
    RulesFile,
    ScreeningRules,
    ScreeningRulesError,
    read_texts,
    rules_digest,
)

__all__ = [
    "KB_FILE",
    "RULES_FILE",
    "RULES_WHERE",
    "PhraseSet",
    "RulesFile",
    "Screener",
    "ScreeningInput",
    "ScreeningResult",
    "ScreeningRules",
    "ScreeningRulesError",
    "read_texts",
    "rules_digest",
]


@dataclass(frozen=True)
class ScreeningInput:
    """What screening looks at: the normalized request and a few facts about it."""

    channel: str
    text: str
    address: str | None = None
    has_location: bool = False
    outside_county: bool | None = None  # None when there are no coordinates to tell
    people_count: int | None = None
    anonymous: bool = False


class ScreeningResult(BaseModel):
    """The outcome, with the reason the petitioner is told and the evidence staff can check."""

    outcome: Outcome
    nature: Nature | None
    hotline_nature: HotlineNature | None
    reason: str
    rule_id: str | None
    rules_version: str
    transfer_to: str | None = None
    answer: str | None = None
    confidential: bool = False
    evidence: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- applying them

_NEGATION_GAP = 2


class _Phrases:
    """A compiled phrase set: the first phrase that fires, not masked and not negated."""

    def __init__(self, spec: PhraseSet, phrases: list[str] | None = None) -> None:
        words = spec.phrases if phrases is None else phrases
        self.phrases: PhraseMatcher[None] = PhraseMatcher((p, None) for p in words)
        self.masks: PhraseMatcher[None] = PhraseMatcher((p, None) for p in spec.masks)
        self.negators = sorted({normalize_text(n) for n in spec.negators if n}, key=len, reverse=True)

    def fire(self, text: str) -> str | None:
        masked = SpanCover((m.start, m.end) for m in self.masks.find(text))
        for m in drop_contained(self.phrases.find(text)):
            if masked.covers(m.start, m.end):
                continue
            if self.negators and negated(text, m.start, self.negators, _NEGATION_GAP):
                continue
            return m.phrase
        return None


class _NaturePhrases:
    """A nature's phrases, then its groups: the evidence of the first that fires, or None."""

    def __init__(self, spec: NatureRule) -> None:
        self.any = _Phrases(spec)
        self.groups = [_Phrases(spec, group) for group in spec.all_of]

    def fire(self, text: str) -> str | None:
        hit = self.any.fire(text)
        if hit or not self.groups:
            return hit
        hits = [group.fire(text) for group in self.groups]
        return " + ".join(h for h in hits if h) if all(hits) else None


def _substantive_chars(text: str) -> int:
    """Characters that carry meaning: CJK ideographs, letters and digits."""
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum())


class Screener:
    """Screens requests by one version of the rules."""

    def __init__(self, rules: ScreeningRules) -> None:
        self.rules = rules
        f = rules.file
        self._emergencies = [(r, _Phrases(r)) for r in f.emergencies]
        self._rules = [(r, _Phrases(r)) for r in f.rules]
        self._natures = [(r.nature, _NaturePhrases(r)) for r in f.natures]
        self._hotline_natures = [(r.nature, _NaturePhrases(r)) for r in f.hotline_natures]
        self._kb = [
            (e, [PhraseMatcher((p, None) for p in group) for group in e.all_of]) for e in rules.kb.entries
        ]

    def screen(self, case: ScreeningInput) -> ScreeningResult:
        f = self.rules.file
        text = normalize_text(case.text)
        nature, nature_evidence = self._nature(text)
        hotline = case.channel in f.hotline_channels
        hotline_nature, hotline_evidence = self._hotline_nature(text) if hotline else (None, None)
        evidence = [e for e in (nature_evidence, hotline_evidence) if e]

        def result(
            outcome: Outcome,
            reason: str,
            rule_id: str | None,
            *more: str,
            transfer_to: str | None = None,
            answer: str | None = None,
        ) -> ScreeningResult:
            return ScreeningResult(
                outcome=outcome,
                nature=nature,
                hotline_nature=hotline_nature,
                reason=reason,
                rule_id=rule_id,
                rules_version=self.rules.version,
                transfer_to=transfer_to,
                answer=answer,
                confidential=nature in f.confidential_natures,
                evidence=[*more, *evidence],
            )

        for emergency, phrases in self._emergencies:
            hit = phrases.fire(text)
            if hit:
                return result(
                    "emergency_transfer",
                    emergency.reason,
                    emergency.id,
                    f"{emergency.id}: {hit}",
                    transfer_to=emergency.transfer_to,
                )
        if _substantive_chars(text) < f.min_text_chars:
            return result(
                "manual",
                f.too_short_reason,
                None,
                f"{_substantive_chars(text)} meaningful characters, fewer than {f.min_text_chars}",
            )
        if case.outside_county:
            out = f.outside_county
            return result(
                "transferred",
                out.reason,
                out.id,
                "coordinates outside the county boundary",
                transfer_to=out.transfer_to,
            )
        for rule, phrases in self._rules:
            if rule.channels is not None and case.channel not in rule.channels:
                continue
            hit = phrases.fire(text)
            if hit:
                return result(
                    rule.outcome, rule.reason, rule.id, f"{rule.id}: {hit}", transfer_to=rule.transfer_to
                )
        if hotline and hotline_nature == f.consultation_nature:
            entry = self._answer(text)
            if entry is not None:
                return result(
                    "answered",
                    f.answered_reason,
                    entry.id,
                    f"knowledge base {entry.id}: {entry.question}",
                    answer=entry.answer,
                )
        return result("accepted", f.accepted_reason, None)

    def _nature(self, text: str) -> tuple[Nature, str | None]:
        for nature, phrases in self._natures:
            hit = phrases.fire(text)
            if hit:
                return nature, f"nature {nature}: {hit}"  # type: ignore[return-value]
        return self.rules.file.default_nature, None

    def _hotline_nature(self, text: str) -> tuple[HotlineNature, str | None]:
        for nature, phrases in self._hotline_natures:
            hit = phrases.fire(text)
            if hit:
                return nature, f"hotline nature {nature}: {hit}"  # type: ignore[return-value]
        return self.rules.file.default_hotline_nature, None

    def _answer(self, text: str) -> KnowledgeEntry | None:
        for entry, groups in self._kb:
            if all(group.find(text) for group in groups):
                return entry
        return None
