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

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dispatch_common.phrases import PhraseMatcher, SpanCover, drop_contained, negated, normalize_text
from services.intake.domain.models import Channel

Outcome = Literal[
    "accepted", "not_accepted", "legal_redirect", "transferred", "emergency_transfer", "answered", "manual"
]
Nature = Literal["建议意见", "检举控告", "申诉求决"]
HotlineNature = Literal["咨询", "求助", "投诉", "举报", "建议", "表扬"]


class ScreeningRulesError(Exception):
    """A rules or knowledge-base file that cannot be used, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


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


# ---------------------------------------------------------------- the files' shape


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseSet(_Strict):
    """Phrases that fire, masks that hide harmless look-alikes, negators that cancel a phrase."""

    phrases: list[str] = Field(min_length=1)
    masks: list[str] = []
    negators: list[str] = []

    @field_validator("phrases", "masks", "negators")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not normalize_text(p.replace("…", "")) for p in value):
            raise ValueError("blank phrase")
        return value


class Transfer(_Strict):
    """A transfer out of the platform: the rule's id, who takes the matter over, and the reason told."""

    id: str = Field(min_length=1)
    transfer_to: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class EmergencyRule(Transfer, PhraseSet):
    """An emergency the platform must not dispatch: transferred at once when its phrases occur."""


class Rule(PhraseSet):
    """One ordered rule: when its phrases occur, the outcome with its reason."""

    id: str = Field(min_length=1)
    outcome: Literal["legal_redirect", "not_accepted", "manual", "transferred"]
    reason: str = Field(min_length=1)
    transfer_to: str | None = None
    channels: list[str] | None = None  # None: every channel

    @model_validator(mode="after")
    def _transfer_names_a_receiver(self) -> "Rule":
        if self.outcome == "transferred" and not self.transfer_to:
            raise ValueError("a transferring rule names transfer_to")
        return self


class NatureRule(PhraseSet):
    """A nature: any of its phrases, or a phrase of every group of ``all_of`` (e.g. an official and a
    misconduct, wherever each stands in the text), not masked and not negated."""

    nature: str
    description: str = ""
    phrases: list[str] = []
    all_of: list[list[str]] = []

    @field_validator("all_of")
    @classmethod
    def _groups(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not group or any(not normalize_text(p.replace("…", "")) for p in group) for group in value):
            raise ValueError("every group needs at least one non-blank phrase")
        return value

    @model_validator(mode="after")
    def _something_fires(self) -> "NatureRule":
        if not self.phrases and not self.all_of:
            raise ValueError("a nature needs phrases or all_of groups")
        return self


class RulesFile(_Strict):
    """data/intake/screening_rules.json."""

    version: str = Field(min_length=1)
    description: str = ""
    min_text_chars: int = Field(ge=1)
    too_short_reason: str = Field(min_length=1)
    accepted_reason: str = Field(min_length=1)
    answered_reason: str = Field(min_length=1)
    outside_county: Transfer
    emergencies: list[EmergencyRule]
    rules: list[Rule]
    natures: list[NatureRule]
    default_nature: Nature
    hotline_channels: list[str] = Field(min_length=1)
    hotline_natures: list[NatureRule]
    default_hotline_nature: HotlineNature
    confidential_natures: list[Nature] = []
    consultation_nature: HotlineNature = "咨询"
    # What other services read instead of the text of a case whose details intake withholds.
    confidential_text: str = Field(min_length=1, max_length=200)
    withheld_text: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> "RulesFile":
        ids = [r.id for r in self.emergencies] + [r.id for r in self.rules] + [self.outside_county.id]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids used twice: {', '.join(dupes)}")
        natures = set(Nature.__args__)  # type: ignore[attr-defined]
        hotline = set(HotlineNature.__args__)  # type: ignore[attr-defined]
        bad = [n.nature for n in self.natures if n.nature not in natures]
        bad += [n.nature for n in self.hotline_natures if n.nature not in hotline]
        if bad:
            raise ValueError(f"unknown natures: {', '.join(bad)}")
        named = set(self.hotline_channels) | {c for r in self.rules for c in r.channels or []}
        unknown = sorted(named - {c.value for c in Channel})
        if unknown:
            raise ValueError(f"unknown channels: {', '.join(unknown)}")
        return self


class KnowledgeEntry(_Strict):
    """A consultation the knowledge base answers: every group of ``all_of`` must have a phrase in the text."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    all_of: list[list[str]] = Field(min_length=1)
    answer: str = Field(min_length=1, max_length=2000)
    source: str = ""

    @field_validator("all_of")
    @classmethod
    def _groups(cls, value: list[list[str]]) -> list[list[str]]:
        if any(not group or any(not normalize_text(p) for p in group) for group in value):
            raise ValueError("every group needs at least one non-blank phrase")
        return value


class KnowledgeBase(_Strict):
    """data/intake/knowledge_base.json."""

    version: str = Field(min_length=1)
    description: str = ""
    entries: list[KnowledgeEntry]

    @model_validator(mode="after")
    def _unique(self) -> "KnowledgeBase":
        ids = [e.id for e in self.entries]
        if len(ids) != len(set(ids)):
            raise ValueError("entry ids used twice")
        return self


def _problems(exc: ValidationError, where: str) -> list[str]:
    return [f"{where}: {'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()]


def _parse(text: str, name: str, model: type[BaseModel], where: str) -> BaseModel:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ScreeningRulesError([f"{where}: cannot read {name}: {exc}"]) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ScreeningRulesError(_problems(exc, where)) from exc


def _read(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ScreeningRulesError([f"{where}: cannot read {path.name}: {exc}"]) from exc


RULES_FILE, KB_FILE = "screening_rules.json", "knowledge_base.json"
RULES_WHERE = {RULES_FILE: "rules", KB_FILE: "knowledge base"}
"""The two files of the screening rules, and the prefix of the problems each gives."""


def rules_digest(texts: dict[str, str]) -> str:
    """The content hash of the two files' text (what an activation compares: the declared versions
    may stay the same while the phrases change)."""
    h = hashlib.sha256()
    for name in (RULES_FILE, KB_FILE):
        data = texts[name].encode("utf-8")
        h.update(f"{name}:{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()[:16]


def read_texts(rules_path: Path, kb_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The two files' text by RULES_FILE and KB_FILE, and the names they have on disk."""
    texts: dict[str, str] = {}
    problems: list[str] = []
    for name, path in ((RULES_FILE, rules_path), (KB_FILE, kb_path)):
        try:
            texts[name] = _read(path, RULES_WHERE[name])
        except ScreeningRulesError as exc:
            problems += exc.problems
    if problems:
        raise ScreeningRulesError(problems)
    return texts, {RULES_FILE: rules_path.name, KB_FILE: kb_path.name}


@dataclass(frozen=True)
class ScreeningRules:
    """A validated rules file and knowledge base; ``version`` names both, ``digest`` hashes their text."""

    file: RulesFile
    kb: KnowledgeBase
    digest: str = ""

    @property
    def version(self) -> str:
        return f"{self.file.version}+kb.{self.kb.version}"

    @classmethod
    def from_file(cls, rules_path: Path, kb_path: Path) -> "ScreeningRules":
        return cls.from_texts(*read_texts(rules_path, kb_path))

    @classmethod
    def from_texts(cls, texts: dict[str, str], names: dict[str, str] | None = None) -> "ScreeningRules":
        """The rules from the two files' text (`texts` by RULES_FILE and KB_FILE), every problem found."""
        problems: list[str] = []
        loaded: list[BaseModel] = []
        for name, model in ((RULES_FILE, RulesFile), (KB_FILE, KnowledgeBase)):
            try:
                loaded.append(_parse(texts[name], (names or {}).get(name, name), model, RULES_WHERE[name]))
            except ScreeningRulesError as exc:
                problems += exc.problems
        if problems:
            raise ScreeningRulesError(problems)
        rules, kb = loaded
        assert isinstance(rules, RulesFile) and isinstance(kb, KnowledgeBase)
        return cls(rules, kb, rules_digest(texts))


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
