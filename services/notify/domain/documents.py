"""Formal documents (规范文书): which notice makes one, its number (文号), and its archived record. Pure.

`data/notify/documents.json` names the types: the notice kind (and the escalation rung or review stage)
that makes one, its title, the letter of `letters/` it is rendered from and the type word of its
number. The county package's `documents.json` gives what is the county's: the issuing organ, the
number prefix, the body a 复查 is asked of and its time limit, and the languages petitioners may be
told in. A number is `<prefix><word>〔<year>〕<n>号` (GB/T 9704: the year in 六角括号, no leading
zeros), n from one sequence per type and year.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notify.domain.occasion import Occasion

COUNTY_FILE = "documents.json"


class Issuer(BaseModel):
    """The county's part of every document (county package `documents.json`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    issuing_organ: str = Field(min_length=1)
    number_prefix: str = Field(min_length=1, max_length=16)
    review_body: str = Field(min_length=1, description="the body a 复查 of an answer is asked of")
    review_days: int = Field(30, ge=1, le=365)
    languages: list[str] = Field(default_factory=lambda: ["zh"], min_length=1)

    @property
    def default_language(self) -> str:
        return self.languages[0]


class DocumentType(BaseModel):
    """One type of document: the notice that makes it, its title, letter and number word."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    letter: str = Field(min_length=1)
    word: str = Field(min_length=1, max_length=8)
    to: Literal["petitioner", "unit"] = "petitioner"
    when: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class DocumentBook:
    """The document types in force and the county's issuer."""

    version: str
    types: dict[str, DocumentType]
    issuer: Issuer
    by_kind: dict[str, list[str]] = field(default_factory=dict)

    def owed(self, occ: Occasion) -> list[str]:
        """The document types an occasion makes: its kinds, narrowed by level or value where a type says."""
        out = []
        for kind in occ.kinds:
            for name in self.by_kind.get(kind, []):
                when = self.types[name].when
                facts = occ.values | {"level": occ.level}
                if all(str(facts.get(k)) == v for k, v in when.items()):
                    out.append(name)
        return out


def load_documents(path: Path, county_dir: Path) -> DocumentBook:
    """Read the document types and the county's issuer; ValueError on a bad file."""
    raw = path.read_bytes()
    spec = json.loads(raw)
    county_raw = (county_dir / COUNTY_FILE).read_bytes()
    issuer = Issuer.model_validate_json(county_raw)
    types = {name: DocumentType.model_validate(t) for name, t in (spec.get("types") or {}).items()}
    by_kind: dict[str, list[str]] = {}
    for name, t in types.items():
        by_kind.setdefault(t.kind, []).append(name)
    digest = hashlib.sha256(raw + county_raw).hexdigest()[:8]
    return DocumentBook(f"{spec.get('version', '0')}+{digest}", types, issuer, by_kind)


def document_number(prefix: str, word: str, year: int, seq: int) -> str:
    """A document's number (文号) as GB/T 9704 writes it: 示信复〔2026〕7号."""
    return f"{prefix}{word}〔{year}〕{seq}号"


def document_id(cause_event_id: str, type_name: str) -> str:
    """A document's id, derived from the event that made it and its type: the event twice, one document."""
    return "doc-" + hashlib.sha256(f"{cause_event_id}|{type_name}".encode()).hexdigest()[:24]


def content_hash(html: str) -> str:
    """The archived content's fingerprint (sha256 of the rendered letter)."""
    return "sha256:" + hashlib.sha256(html.encode("utf-8")).hexdigest()


def new_document(
    *,
    doc_id: str,
    type_name: str,
    dtype: DocumentType,
    number: str,
    year: int,
    seq: int,
    occ: Occasion,
    html: str,
    language: dict[str, Any],
    cause_event_id: str,
    template_version: str,
    book_version: str,
    petitioner_name: str,
    confidential: bool,
    now: datetime,
) -> dict[str, Any]:
    """The archived record of a document: immutable once stored (no operation changes it)."""
    return {
        "_id": doc_id,
        "case_id": occ.case_id,
        "case_no": occ.values.get("case_no") or None,
        "type": type_name,
        "title": dtype.title,
        "kind": dtype.kind,
        "level": occ.level,
        "number": number,
        "year": year,
        "seq": seq,
        "petitioner_name": petitioner_name,
        "html": html,
        "content_hash": content_hash(html),
        "template_version": template_version,
        "documents_version": book_version,
        **language,  # language, language_requested, language_fallback, language_fallback_reason
        "cause_event_id": cause_event_id,
        "confidential": confidential,
        "created_at": now,
        "created_ts": int(now.timestamp() * 1000),
        "version": 1,
    }
