"""The screening rules (甄别规则) as data: the rules file and the knowledge base, their shape, how they
are read and checked (every problem found, named by file), their version and content digest. Pure.
What screening does with them is `screening.py`."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dispatch_common.phrases import normalize_text
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
