"""The county package: geography, gazetteer, units, taxonomy, lexicon and rules, loaded and checked.

A county is pure data (see data/county/<code>/PACKAGE.md). Loading validates the whole package and
reports every problem at once, so a county administrator can fix a package in one pass.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from .county_load import (
    check_areas,
    check_contract,
    check_gazetteer,
    check_geometry,
    check_lexicon,
    check_rules,
    check_units,
    load_areas,
    load_gazetteer,
    load_taxonomy,
    load_units,
    parse,
)
from .county_model import LEVELS, Area, CountyPackageError, GazetteerEntry, Taxonomy, Unit
from .models import Lexicon, RoutingRules

__all__ = [
    "LEVELS",
    "PACKAGE_FILES",
    "Area",
    "CountyPackage",
    "CountyPackageError",
    "GazetteerEntry",
    "Taxonomy",
    "Unit",
]

PACKAGE_FILES: tuple[str, ...] = (
    "geography.geojson",
    "gazetteer.json",
    "units.json",
    "taxonomy.json",
    "lexicon.json",
    "routing_rules.json",
)


@dataclass(frozen=True)
class CountyPackage:
    county_code: str
    areas: dict[str, Area]
    units: list[Unit]
    taxonomy: Taxonomy
    gazetteer: list[GazetteerEntry]
    lexicon: Lexicon
    rules: RoutingRules
    version: str
    geometries: dict[str, BaseGeometry] = field(repr=False, default_factory=dict)
    path: Path | None = None

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def from_dir(cls, path: str | Path) -> CountyPackage:
        """Load and validate the package in ``path``; raise CountyPackageError listing all problems."""
        root = Path(path)
        problems: list[str] = []
        raw: dict[str, Any] = {}
        digest = hashlib.sha256()
        for name in PACKAGE_FILES:
            file = root / name
            try:
                data = file.read_bytes()
            except OSError as exc:
                problems.append(f"{name}: cannot read ({exc.strerror or exc})")
                continue
            digest.update(name.encode() + b"\0" + data + b"\0")
            try:
                raw[name] = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(f"{name}: not valid UTF-8 JSON ({exc})")
        if problems:
            raise CountyPackageError(problems)

        areas, geometries = load_areas(raw["geography.geojson"], problems)
        taxonomy = load_taxonomy(raw["taxonomy.json"], problems)
        units = load_units(raw["units.json"], problems)
        gazetteer = load_gazetteer(raw["gazetteer.json"], problems)
        lexicon = parse(Lexicon, raw["lexicon.json"], "lexicon.json", problems)
        rules = parse(RoutingRules, raw["routing_rules.json"], "routing_rules.json", problems)

        counties = [a.code for a in areas.values() if a.level == "county"]
        if len(counties) != 1:
            problems.append(f"geography.geojson: expected exactly one county-level area, found {counties}")
        check_areas(areas, problems)
        check_geometry(areas, geometries, problems)
        check_contract(areas, taxonomy, rules, problems)
        check_units(units, areas, taxonomy, problems)
        check_gazetteer(gazetteer, areas, problems)
        if lexicon is not None:
            check_lexicon(lexicon, taxonomy, problems)
        if rules is not None:
            check_rules(rules, taxonomy, units, problems)
        if problems:
            raise CountyPackageError(problems)
        assert lexicon is not None and rules is not None
        return cls(
            county_code=counties[0],
            areas=areas,
            units=units,
            taxonomy=taxonomy,
            gazetteer=gazetteer,
            lexicon=lexicon,
            rules=rules,
            version=digest.hexdigest()[:12],
            geometries=geometries,
            path=root,
        )

    # -- hierarchy helpers ---------------------------------------------------------------------

    def ancestors(self, code: str) -> list[str]:
        """``code`` and its enclosing areas, from the area itself up to the county."""
        chain: list[str] = []
        current: str | None = code
        while current is not None and current in self.areas and current not in chain:
            chain.append(current)
            current = self.areas[current].parent
        return chain

    def _at_level(self, code: str | None, level: str) -> str | None:
        if code is None:
            return None
        for c in self.ancestors(code):
            if self.areas[c].level == level:
                return c
        return None

    def town_of(self, code: str | None) -> str | None:
        return self._at_level(code, "town")

    def village_of(self, code: str | None) -> str | None:
        return self._at_level(code, "village")

    def area_name(self, code: str | None) -> str | None:
        area = self.areas.get(code) if code else None
        return area.name if area else None

    def areas_at(self, level: str) -> list[Area]:
        return [a for a in self.areas.values() if a.level == level]


# ---------------------------------------------------------------------------------------------
