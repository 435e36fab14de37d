"""The Chinese editions keep step with the English ones.

docs/zh/operations.md is the whole operations guide; docs/zh/README.md translates the README's quick
start, ports and configuration (the sections named below). For each pair: the same headings at each
level in the same order; every fenced code block of the English verbatim in the Chinese (commands are
not translated); every `make` target, upper-case name in backticks (settings, streams), alert name,
identifier in backticks and link of the English in the Chinese (a link into a translated text may lead
to its edition); and every in-document link of the Chinese reaching a heading.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from dispatch_common.paths import REPO_ROOT


@dataclass(frozen=True)
class Edition:
    """An English text, its Chinese edition, and the level-2 sections of each that are translated."""

    english: str
    chinese: str
    english_sections: tuple[str, ...] = ()  # empty: the whole text
    chinese_sections: tuple[str, ...] = ()


EDITIONS = (
    Edition("docs/operations.md", "docs/zh/operations.md"),
    Edition(
        "README.md",
        "docs/zh/README.md",
        english_sections=("Quick start", "Ports", "Configuration"),
        chinese_sections=("快速开始", "端口", "配置"),
    ),
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
MAKE_TARGET = re.compile(r"\bmake\s+(?:-s\s+)?([a-z][a-z0-9-]*)")
UPPER_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
UPPER_SPAN = re.compile(r"[A-Z<][A-Z0-9_<>*]+")
ALERT_NAME = re.compile(r"\bDispatch[A-Z][A-Za-z0-9]+\b")


@dataclass(frozen=True)
class Part:
    """The translated part of one text: its tokens and its source lines."""

    tokens: tuple[Token, ...]
    text: str


@cache
def tokens_of(path: Path) -> tuple[Token, ...]:
    """The block tokens of a Markdown file (CommonMark with tables)."""
    return tuple(MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8")))


def headings(tokens: tuple[Token, ...]) -> list[tuple[int, str, int]]:
    """(level, text, first line) of each heading."""
    return [
        (int(token.tag[1]), tokens[i + 1].content, token.map[0] if token.map else 0)
        for i, token in enumerate(tokens)
        if token.type == "heading_open"
    ]


def part_of(path: Path, sections: tuple[str, ...]) -> Part:
    """The whole file, or only the named level-2 sections with everything under them."""
    tokens = tokens_of(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not sections:
        return Part(tokens, "\n".join(lines))
    spans: list[tuple[int, int]] = []
    found = headings(tokens)
    for title in sections:
        starts = [(n, line) for n, (level, text, line) in enumerate(found) if level == 2 and text == title]
        assert starts, f"{path.name} has no section '## {title}'"
        n, start = starts[0]
        ends = [line for level, _, line in found[n + 1 :] if level <= 2]
        spans.append((start, ends[0] if ends else len(lines)))
    inside = tuple(t for t in tokens if t.map and any(a <= t.map[0] < b for a, b in spans))
    return Part(inside, "\n".join(line for a, b in spans for line in lines[a:b]))


def code_of(part: Part) -> list[str]:
    """The fenced code blocks and inline code spans of a part."""
    code = [t.content for t in part.tokens if t.type in ("fence", "code_block")]
    for token in part.tokens:
        code += [child.content for child in token.children or () if child.type == "code_inline"]
    return code


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file, the -1, -2 ... of repeated headings included."""
    found: set[str] = set()
    repeats: dict[str, int] = {}
    for _, text, _ in headings(tokens_of(path)):
        plain = slug(text.replace("`", ""))
        if plain in repeats:
            repeats[plain] += 1
            found.add(f"{plain}-{repeats[plain]}")
        else:
            repeats[plain] = 0
            found.add(plain)
    return found


def pair(edition: Edition) -> tuple[Part, Part]:
    """The English part and its Chinese edition."""
    return (
        part_of(REPO_ROOT / edition.english, edition.english_sections),
        part_of(REPO_ROOT / edition.chinese, edition.chinese_sections),
    )


ids = pytest.mark.parametrize("edition", EDITIONS, ids=lambda e: e.chinese)


@ids
def test_the_same_headings_at_each_level_in_the_same_order(edition):
    english, chinese = pair(edition)
    outlines = [[(level, text) for level, text, _ in headings(part.tokens)] for part in (english, chinese)]
    steps = list(zip(*outlines, strict=False))
    apart = next((n for n, ((a, _), (b, _)) in enumerate(steps) if a != b), len(steps))
    assert [level for level, _ in outlines[1]] == [level for level, _ in outlines[0]], (
        f"the outlines part at heading {apart + 1}: English {outlines[0][apart : apart + 2]}, "
        f"Chinese {outlines[1][apart : apart + 2]}"
    )


@ids
def test_every_code_block_is_kept_verbatim(edition):
    english, chinese = pair(edition)
    fences = [[t.content for t in part.tokens if t.type == "fence"] for part in (english, chinese)]
    assert [block for block in fences[0] if block not in fences[1]] == []


@ids
def test_every_make_target_setting_and_alert_is_named(edition):
    english, chinese = pair(edition)
    english_code, chinese_code = code_of(english), code_of(chinese)
    targets = {m for code in english_code for m in MAKE_TARGET.findall(code)}
    names = {m for code in english_code for m in UPPER_NAME.findall(code)}
    names |= {code for code in english_code if UPPER_SPAN.fullmatch(code)}
    chinese_targets = {m for code in chinese_code for m in MAKE_TARGET.findall(code)}
    assert sorted(targets - chinese_targets) == []
    assert sorted(n for n in names if n not in chinese.text) == []
    assert sorted(set(ALERT_NAME.findall(english.text)) - set(ALERT_NAME.findall(chinese.text))) == []


def link_targets(doc: Path, part: Part) -> set[str]:
    """Where the links of a part lead: the file (with its anchor, unless it has an edition) or the URL."""
    editions = {REPO_ROOT / e.english: REPO_ROOT / e.chinese for e in EDITIONS}
    found = set()
    for link in LINK.findall(part.text):
        if re.match(r"^[a-z]+:", link):
            found.add(link)
            continue
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        translated = path in editions.values() or path in editions
        found.add(str(path.relative_to(REPO_ROOT)) + ("" if translated or not anchor else f"#{anchor}"))
    return found


@ids
def test_every_link_of_the_english_is_kept(edition):
    english, chinese = pair(edition)
    english_targets = link_targets(REPO_ROOT / edition.english, english)
    chinese_targets = link_targets(REPO_ROOT / edition.chinese, chinese)
    by_edition = {e.english: e.chinese for e in EDITIONS}
    assert (
        sorted(
            t
            for t in english_targets
            if t not in chinese_targets and by_edition.get(t) not in chinese_targets
        )
        == []
    )


@ids
def test_every_identifier_in_backticks_is_kept(edition):
    english, chinese = pair(edition)
    assert sorted(set(code_of(english)) - set(code_of(chinese))) == []


@ids
def test_links_of_the_chinese_edition_reach_their_headings(edition):
    doc = REPO_ROOT / edition.chinese
    broken = []
    for target, anchor in re.findall(r"\]\(([^)\s#]*)#([^)\s]+)\)", doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target) or not (target == "" or target.endswith(".md")):
            continue
        path = (doc.parent / target).resolve() if target else doc
        if path.exists() and anchor not in anchors(path):
            broken.append(f"{target}#{anchor}")
    assert broken == []
