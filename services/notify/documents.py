"""Notify's documents: archive the formal documents (规范文书) a batch of events makes, once each.

After the notices of a batch are recorded, each event's occasion is read again against notify's view
of its case; every document type it makes (data/notify/documents.json) is rendered from the same
letters as the notices, numbered from its type's sequence for the year, and archived. A document's id
is derived from its event and type, so an event applied twice archives one document. A batch's
documents cost three round trips together (issue 20): one read of those archived already, one block of
numbers per type and year, one insert.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, TemplateNotFound

from dispatch_common.bus import Delivery
from services.notify.adapters.documents import Documents
from services.notify.adapters.repository import Messages
from services.notify.domain.documents import (
    DocumentBook,
    document_id,
    document_number,
    load_documents,
    new_document,
)
from services.notify.domain.languages import LanguageChoice, choose_language, petitioner_preferences
from services.notify.domain.occasion import Occasion
from services.notify.domain.plan import occasion
from services.notify.domain.templates import Templates

log = logging.getLogger("dispatch.notify.documents")


class DocumentsProblem(ValueError):
    """Document types that cannot be put in force (a letter missing or failing on its kind's sample)."""


def issuer_values(book: DocumentBook) -> dict[str, Any]:
    """What every letter may name of the county's issuer."""
    issuer = book.issuer
    return {
        "issuing_organ": issuer.issuing_organ,
        "review_body": issuer.review_body,
        "review_days": issuer.review_days,
    }


def load_checked(path: Path, county_dir: Path, templates: Templates) -> DocumentBook:
    """The document types, each letter rendered once with its kind's sample; DocumentsProblem else."""
    book = load_documents(path, county_dir)
    problems = []
    for name, dtype in book.types.items():
        try:
            sample = templates.sample(dtype.kind)
        except KeyError:
            problems.append(f"{name}: no kind of notice {dtype.kind!r}")
            continue
        values = sample | issuer_values(book) | {"doc_no": "X〔2026〕1号", "petitioner_name": "张*"}
        try:
            templates.book.html_env.get_template(dtype.letter).render(title=dtype.title, **values)
        except (TemplateError, TypeError, ValueError) as exc:
            problems.append(f"{name}: letter {dtype.letter}: {type(exc).__name__}: {exc}")
    if problems:
        raise DocumentsProblem("; ".join(problems))
    return book


@dataclass(frozen=True)
class Issuing:
    """What issuing documents takes: the types in force, the letters, the archive, the county."""

    book: DocumentBook
    templates: Templates
    archive: Documents


def _render(issuing: Issuing, letter: str, values: dict[str, Any], choice: LanguageChoice) -> str:
    env = issuing.templates.book.html_env
    if choice.used != issuing.book.issuer.default_language:
        return env.get_template(f"{choice.used}/{letter}").render(**values)
    return env.get_template(letter).render(**values)


def _has_letter(issuing: Issuing, letter: str, language: str) -> bool:
    try:
        issuing.templates.book.html_env.get_template(f"{language}/{letter}")
    except TemplateNotFound:
        return False
    return True


@dataclass(frozen=True)
class Owed:
    """One document an event's occasion owes, before it has a number."""

    occ: Occasion
    case: dict[str, Any]
    cause_id: str
    type_name: str
    year: int

    @property
    def doc_id(self) -> str:
        return document_id(self.cause_id, self.type_name)


def _make(issuing: Issuing, owed: Owed, seq: int, now: Any) -> dict[str, Any] | None:
    """The archived record of an owed document under its number; None when its letter fails."""
    book, occ, case = issuing.book, owed.occ, owed.case
    prefs = petitioner_preferences(case)
    dtype = book.types[owed.type_name]
    choice = choose_language(
        prefs.get("language") if dtype.to == "petitioner" else None,
        tuple(book.issuer.languages),
        lambda lang, letter=dtype.letter: _has_letter(issuing, letter, lang),
    )
    number = document_number(book.issuer.number_prefix, dtype.word, owed.year, seq)
    name = "" if case.get("confidential") else (prefs.get("name_masked") or "")
    values = occ.values | issuer_values(book) | {"doc_no": number, "petitioner_name": name}
    try:
        html = _render(issuing, dtype.letter, {"title": dtype.title, **values}, choice)
    except (TemplateError, TypeError, ValueError) as exc:
        log.error(
            "document not rendered", extra={"type": owed.type_name, "case_id": occ.case_id, "error": str(exc)}
        )
        return None
    return new_document(
        doc_id=owed.doc_id,
        type_name=owed.type_name,
        dtype=dtype,
        number=number,
        year=owed.year,
        seq=seq,
        occ=occ,
        html=html,
        language=choice.record(),
        cause_event_id=owed.cause_id,
        template_version=issuing.templates.version,
        book_version=book.version,
        petitioner_name=name,
        confidential=bool(case.get("confidential")),
        now=now,
    )


_last_issued_ms = 0


def issue_times(now: datetime, count: int) -> list[datetime]:
    """When each of a batch's documents is issued: in order, a millisecond apart, and after every one this
    process issued before, so that a case's documents list in the order they were issued (`created_ts`)
    even when one batch issues several (an assignment and a reply read together after a pause)."""
    global _last_issued_ms
    now_ms = int(now.timestamp() * 1000)
    start = max(now_ms, _last_issued_ms + 1)
    _last_issued_ms = start + count - 1
    return [now + timedelta(milliseconds=start - now_ms + i) for i in range(count)]


async def issue(issuing: Issuing, owed: list[Owed], *, now: Any) -> list[str]:
    """Archive the documents a batch owes, in order; the ids archived now. Three round trips a batch,
    whatever its size: which are archived already, a block of numbers per type and year, one insert."""
    archived = await issuing.archive.existing([o.doc_id for o in owed])
    fresh: dict[str, Owed] = {}
    for o in owed:  # an event delivered twice in one batch owes its documents once
        if o.doc_id not in archived:
            fresh.setdefault(o.doc_id, o)
    if not fresh:
        return []
    wanted = Counter((o.type_name, o.year) for o in fresh.values())
    first = {key: await issuing.archive.reserve(*key, count) for key, count in wanted.items()}
    docs = []
    for o, at in zip(fresh.values(), issue_times(now, len(fresh)), strict=True):
        key = (o.type_name, o.year)
        seq, first[key] = first[key], first[key] + 1
        doc = _make(issuing, o, seq, at)
        if doc is not None:
            docs.append(doc)
    return await issuing.archive.archive_many(docs)


async def record_documents(
    deliveries: list[Delivery],
    failures: dict[str, BaseException],
    *,
    messages: Messages,
    issuing: Issuing,
    speaking: Any,
    views: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """The documents a batch of events makes (the events whose notices wait are done when they come again).
    `views`: notify's views of the cases as the notices of the batch left them (read when not given)."""
    ordered = [
        d
        for d in sorted(deliveries, key=lambda d: d.sequence)
        if d.event.id not in failures and getattr(d.data, "case_id", None)
    ]
    if not ordered:
        return []
    known = views or {}
    missing = {d.data.case_id for d in ordered} - set(known)
    views = known | (await messages.cases_of(missing) if missing else {})
    owed: list[Owed] = []
    for delivery in ordered:
        case = views.get(delivery.data.case_id, {})
        event = delivery.event
        occ = occasion(event.type, delivery.data, case, tz=speaking.timezone, at=event.time)
        occ.values["county_name"] = speaking.county_name
        year = event.time.astimezone(speaking.timezone).year
        owed += [Owed(occ, case, event.id, name, year) for name in issuing.book.owed(occ)]
    if not owed:
        return []
    return await issue(issuing, owed, now=speaking.clock.now())
