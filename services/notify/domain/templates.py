"""Notice texts from versioned templates: Jinja2 in its sandbox, checked when loaded, reloaded on change.

`data/notify/templates.json` names, per kind of notice, a title, sample values, and per audience
(`petitioner`, `unit`, `leader`, `system`) a text per channel; formal notices also name a letter
(an HTML file beside it, rendered with escaping). A book is checked whole when it is loaded: every
template compiles in the sandbox, uses only the variables its kind declares (the keys of its
sample), renders with the sample, and an SMS fits the configured number of parts. A book that
fails is refused with every problem; the one in force stays.
"""

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from services.notify.domain.delivery import fit_sms, sms_segments

TEXT_CHANNELS = ("sms", "inbox", "email")
RELOAD_CHECK_SECONDS = 1.0


class TemplateProblem(ValueError):
    """A template book that cannot be put in force, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Rendered:
    """One notice as it will be sent: subject (e-mail, webhook), text, letter HTML, and the version."""

    kind: str
    audience: str
    channel: str
    subject: str
    text: str
    html: str | None
    version: str
    segments: int | None = None
    truncated: bool = False
    language: str | None = None  # the language of a translated text; None: the book's own (Chinese)


@dataclass
class _Kind:
    title: str
    sample: dict[str, Any]
    texts: dict[str, dict[str, str]]  # audience -> channel -> source
    letter: str | None = None
    letter_audiences: tuple[str, ...] = ()
    # language -> {"title": source, audience -> channel -> source}: a text in another language the
    # county supports; an audience without one falls back to `texts`
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Book:
    """One loaded, checked version of the templates."""

    version: str
    kinds: dict[str, _Kind]
    text_env: ImmutableSandboxedEnvironment
    html_env: ImmutableSandboxedEnvironment
    max_segments: int
    files: dict[Path, float] = field(default_factory=dict)  # file -> mtime when loaded
    compiled: dict[str, Template] = field(default_factory=dict)  # text -> its template, for this version

    def text(self, source: str) -> Template:
        """A notice text compiled once per loaded version (compiling costs more than rendering)."""
        template = self.compiled.get(source)
        if template is None:
            template = self.compiled[source] = self.text_env.from_string(source)
        return template


def _environments(letters_dir: Path) -> tuple[ImmutableSandboxedEnvironment, ImmutableSandboxedEnvironment]:
    # The sandbox keeps a template from reaching Python internals; StrictUndefined makes a missing
    # variable an error instead of an empty string in a letter to a citizen.
    text = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    html = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=True, loader=FileSystemLoader(str(letters_dir))
    )
    return text, html


def load_book(path: Path, *, max_segments: int) -> Book:
    """Read and check the templates; raise TemplateProblem listing everything wrong."""
    raw_bytes = path.read_bytes()
    raw = json.loads(raw_bytes)
    letters_dir = path.parent / raw.get("letters_dir", "letters")
    text_env, html_env = _environments(letters_dir)
    digest = hashlib.sha256(raw_bytes)
    files = {path: path.stat().st_mtime}
    problems: list[str] = []
    kinds: dict[str, _Kind] = {}
    shared_sample = dict(raw.get("sample") or {})
    for name, spec in (raw.get("kinds") or {}).items():
        kind = _Kind(
            title=spec.get("title", name),
            sample=shared_sample | dict(spec.get("sample") or {}),
            texts={aud: dict(chs) for aud, chs in (spec.get("audiences") or {}).items()},
            letter=spec.get("letter"),
            letter_audiences=tuple(spec.get("letter_audiences") or ("petitioner",)),
            languages={lang: dict(t) for lang, t in (spec.get("languages") or {}).items()},
        )
        kinds[name] = kind
        if kind.letter:
            letter_path = letters_dir / kind.letter
            if letter_path.is_file():
                digest.update(letter_path.read_bytes())
                files[letter_path] = letter_path.stat().st_mtime
    for layout in sorted(letters_dir.glob("_*.html")) if letters_dir.is_dir() else []:
        digest.update(layout.read_bytes())
        files[layout] = layout.stat().st_mtime
    book = Book(
        version=f"{raw.get('version', '0')}+{digest.hexdigest()[:8]}",
        kinds=kinds,
        text_env=text_env,
        html_env=html_env,
        max_segments=max_segments,
        files=files,
    )
    for name, kind in kinds.items():
        problems.extend(_check_kind(book, name, kind))
    if not kinds:
        problems.append(f"{path}: no kinds of notice")
    if problems:
        raise TemplateProblem(problems)
    return book


def _check_kind(book: Book, name: str, kind: _Kind) -> list[str]:
    problems: list[str] = []
    declared = set(kind.sample)
    sources = [("title", kind.title)] + [
        (f"{aud}.{ch}", src) for aud, chs in kind.texts.items() for ch, src in chs.items()
    ]
    for lang, spec in kind.languages.items():
        sources += [(f"languages.{lang}.title", spec.get("title", kind.title))] + [
            (f"languages.{lang}.{aud}.{ch}", src)
            for aud, chs in spec.items()
            if aud != "title"
            for ch, src in dict(chs).items()
        ]
    for where, source in sources:
        try:
            used = meta.find_undeclared_variables(book.text_env.parse(source))
        except TemplateError as exc:
            problems.append(f"{name}.{where}: {exc}")
            continue
        if used - declared:
            problems.append(f"{name}.{where}: variables {sorted(used - declared)} not in the kind's sample")
    for aud, chs in kind.texts.items():
        unknown = set(chs) - set(TEXT_CHANNELS)
        if unknown:
            problems.append(f"{name}.{aud}: unknown channels {sorted(unknown)}")
        if "inbox" not in chs:
            problems.append(f"{name}.{aud}: an audience needs an inbox text (other channels fall back to it)")
    if problems:
        return problems
    for aud, chs in kind.texts.items():
        try:
            for ch in chs:
                rendered = _render(book, name, kind, aud, ch, kind.sample, fit=False)
                if ch == "sms" and (rendered.segments or 0) > book.max_segments:
                    problems.append(
                        f"{name}.{aud}.sms: the sample takes {rendered.segments} SMS parts, "
                        f"more than {book.max_segments}"
                    )
        except (TemplateError, ValueError, TypeError) as exc:
            problems.append(f"{name}.{aud}: {type(exc).__name__}: {exc}")
    return problems


def _render(
    book: Book,
    name: str,
    kind: _Kind,
    audience: str,
    channel: str,
    values: Mapping[str, Any],
    *,
    fit: bool = True,
    letter: bool = True,
    language: str | None = None,
) -> Rendered:
    texts = kind.texts.get(audience)
    if texts is None:
        raise KeyError(f"kind {name} has no texts for audience {audience}")
    title = kind.title
    translated = kind.languages.get(language or "", {})
    if isinstance(translated.get(audience), dict):
        texts, title = {**texts, **translated[audience]}, translated.get("title", title)
    else:
        language = None
    source = texts.get(channel) or texts["inbox"]
    text = book.text(source).render(**values).strip()
    subject = book.text(title).render(**values).strip()
    segments = truncated = None
    if channel == "sms":
        if fit:
            text, truncated = fit_sms(text, book.max_segments)
        segments = sms_segments(text)
    html = None
    if letter and kind.letter and audience in kind.letter_audiences:
        names = [f"{language}/{kind.letter}", kind.letter] if language else [kind.letter]
        html = book.html_env.select_template(names).render(title=subject, **values)
    return Rendered(
        kind=name,
        audience=audience,
        channel=channel,
        subject=subject,
        text=text,
        html=html,
        version=book.version,
        segments=segments,
        truncated=bool(truncated),
        language=language,
    )


class Templates:
    """The templates in force; a changed file is loaded at the next render, no restart needed."""

    def __init__(self, path: Path, *, max_segments: int = 3) -> None:
        self.path = path
        self.max_segments = max_segments
        self._book = load_book(path, max_segments=max_segments)
        self._checked_at = time.monotonic()
        self._lock = threading.Lock()
        self.last_problem: TemplateProblem | None = None

    @property
    def version(self) -> str:
        """The version in force: the file's `version` and a hash of the texts."""
        return self.book.version

    @property
    def book(self) -> Book:
        """The book in force, reloaded first if a file changed (looked at most once a second)."""
        now = time.monotonic()
        if now - self._checked_at >= RELOAD_CHECK_SECONDS:
            self._checked_at = now
            if self._changed():
                # A problem is kept in last_problem; the book in force stays.
                with contextlib.suppress(TemplateProblem, OSError, ValueError):
                    self.reload()
        return self._book

    def _changed(self) -> bool:
        try:
            return any(p.stat().st_mtime != m for p, m in self._book.files.items()) or (
                self.path.stat().st_mtime != self._book.files.get(self.path)
            )
        except OSError:
            return True

    def reload(self) -> str:
        """Load the files again; the new version, or TemplateProblem (the old book stays in force)."""
        with self._lock:
            try:
                book = load_book(self.path, max_segments=self.max_segments)
            except json.JSONDecodeError as exc:
                self.last_problem = TemplateProblem([f"{self.path}: not JSON: {exc}"])
                raise self.last_problem from exc
            except TemplateProblem as exc:
                self.last_problem = exc
                # Remember the files as seen, so a broken file is not loaded again every second.
                self._book.files = {p: _mtime(p) for p in self._book.files} | {self.path: _mtime(self.path)}
                raise
            self._book, self.last_problem = book, None
            return book.version

    def kinds(self) -> dict[str, dict[str, Any]]:
        """Every kind with its title, audiences, channels, letter and sample values."""
        return {
            name: {
                "title": k.title,
                "audiences": {aud: sorted(chs) for aud, chs in k.texts.items()},
                "letter": k.letter,
                "sample": k.sample,
            }
            for name, k in self.book.kinds.items()
        }

    def has(self, kind: str, audience: str, *, language: str | None = None) -> bool:
        """Whether the book has texts for this kind and audience (in `language`, when given)."""
        k = self.book.kinds.get(kind)
        if k is None or audience not in k.texts:
            return False
        return language is None or isinstance(k.languages.get(language, {}).get(audience), dict)

    def sample(self, kind: str) -> dict[str, Any]:
        """The sample values of a kind (KeyError if unknown)."""
        return dict(self.book.kinds[kind].sample)

    def compose(
        self,
        kind: str,
        audience: str,
        channel: str,
        values: Mapping[str, Any],
        *,
        letter: bool = True,
        language: str | None = None,
    ) -> Rendered:
        """Render a notice, in `language` where the kind has texts in it for the audience (the result's
        `language` says so; None: the book's own); KeyError for an unknown kind or audience,
        TemplateError for bad values."""
        book = self.book
        return _render(
            book, kind, book.kinds[kind], audience, channel, values, letter=letter, language=language
        )

    def render(self, kind: str, channel: str, *, audience: str = "petitioner", **values: Any) -> str:
        """The text of a notice with its variables filled in (without its letter)."""
        return self.compose(kind, audience, channel, values, letter=False).text


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
