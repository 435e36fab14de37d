"""The county package's parts: areas, units, gazetteer entries and the taxonomy (services/routing/
domain/county.py loads and checks them)."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS: tuple[str, ...] = ("county", "town", "village", "grid")
"""Normalized area levels, from the largest to the smallest."""


class CountyPackageError(ValueError):
    """A county package that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in county package:\n  " + "\n  ".join(problems))


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    level: str  # one of LEVELS
    parent: str | None
    raw_level: str = ""


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    type: str
    level: str
    jurisdiction: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    name: str
    grid: str | None
    village: str | None
    town: str | None
    lon: float | None
    lat: float | None


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """first: first-level code → name; sub: second-level code → (parent code, name)."""

    first: dict[str, str]
    sub: dict[str, tuple[str, str]]

    def __contains__(self, code: object) -> bool:
        return code in self.first or code in self.sub

    def first_level(self, code: str) -> str | None:
        if code in self.first:
            return code
        if code in self.sub:
            return self.sub[code][0]
        return None

    def children(self, code: str) -> list[str]:
        return [c for c, (parent, _) in self.sub.items() if parent == code]

    def name(self, code: str | None) -> str | None:
        if code is None:
            return None
        if code in self.first:
            return self.first[code]
        if code in self.sub:
            return self.sub[code][1]
        return None
