"""Loading and checking each file of a county package; every problem is collected, none stops the
others (services/routing/domain/county.py puts them together)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from shapely import STRtree, unary_union
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from dispatch_common.contracts import contract_limits
from dispatch_common.county import LEVEL_ALIASES

from .county_model import LEVELS, Area, GazetteerEntry, Taxonomy, Unit
from .models import FLAG_NAMES, Lexicon, RoutingRules


def parse(model: Any, data: Any, name: str, problems: list[str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top)"
            problems.append(f"{name}: {where}: {err['msg']}")
        return None


def load_areas(data: Any, problems: list[str]) -> tuple[dict[str, Area], dict[str, BaseGeometry]]:
    areas: dict[str, Area] = {}
    geometries: dict[str, BaseGeometry] = {}
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        problems.append("geography.geojson: not a FeatureCollection with a features list")
        return areas, geometries
    for i, feature in enumerate(features):
        props = (feature or {}).get("properties") or {}
        code, name, level = props.get("code"), props.get("name"), props.get("level")
        where = f"geography.geojson: feature {i} ({code or 'no code'})"
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            problems.append(f"{where}: missing code or name")
            continue
        if code in areas:
            problems.append(f"{where}: duplicate area code")
            continue
        normalized = LEVEL_ALIASES.get(str(level))
        if normalized is None:
            problems.append(f"{where}: unknown level {level!r}; expected one of {sorted(LEVEL_ALIASES)}")
            continue
        parent = props.get("parent") or None
        areas[code] = Area(code=code, name=name, level=normalized, parent=parent, raw_level=str(level))
        try:
            geom = shape(feature["geometry"])
            if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise ValueError(f"geometry is {geom.geom_type}, expected Polygon or MultiPolygon")
            if not geom.is_valid:
                geom = geom.buffer(0)
            geometries[code] = geom
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{where}: bad geometry ({exc})")
    return areas, geometries


def check_areas(areas: dict[str, Area], problems: list[str]) -> None:
    for area in areas.values():
        depth = LEVELS.index(area.level)
        if area.parent is None:
            if area.level != "county":
                problems.append(f"geography.geojson: area {area.code} ({area.level}) has no parent")
            continue
        parent = areas.get(area.parent)
        if parent is None:
            problems.append(f"geography.geojson: area {area.code} has unknown parent {area.parent}")
        elif LEVELS.index(parent.level) != depth - 1:
            problems.append(
                f"geography.geojson: area {area.code} ({area.level}) has parent {parent.code} "
                f"at level {parent.level}, expected {LEVELS[depth - 1] if depth else 'none'}"
            )


GEOMETRY_TOLERANCE = 0.001
"""Share of an area that may be left uncovered by its children, or shared by two siblings, before the
package is refused: digitized borders are never exact, but a missing village or two grids claiming
the same street are errors."""


def check_contract(
    areas: dict[str, Area], taxonomy: Taxonomy, rules: RoutingRules | None, problems: list[str]
) -> None:
    """Codes and tiers that travel in events must be what proto/ accepts."""
    limits = contract_limits()
    area_code = re.compile(limits["area_code"])
    for code, area in areas.items():
        if area.level != "county" and not area_code.match(code):
            problems.append(f"geography.geojson: area code {code} is not {limits['area_code']} (proto/)")
    for codes, key in ((taxonomy.first, "category_code"), (taxonomy.sub, "subcategory_code")):
        pattern = re.compile(limits[key])
        for code in codes:
            if not pattern.match(code):
                problems.append(f"taxonomy.json: code {code} is not {limits[key]} (proto/)")
    if rules is not None:
        for tier in {rules.default_tier, *(t.tier for t in rules.tiers)} - set(limits["tiers"]):
            problems.append(f"routing_rules.json: tier {tier} is not one of {limits['tiers']} (proto/)")


def check_geometry(areas: dict[str, Area], geometries: dict[str, BaseGeometry], problems: list[str]) -> None:
    """Children must cover their parent, stay inside it, and not overlap each other."""
    children: dict[str, list[str]] = {}
    for area in areas.values():
        if area.parent in areas and area.code in geometries:
            children.setdefault(area.parent, []).append(area.code)
    for parent, codes in sorted(children.items()):
        outer = geometries.get(parent)
        if outer is None or outer.area == 0:
            continue
        shapes = [geometries[c] for c in codes]
        covered = unary_union(shapes)
        uncovered = outer.difference(covered).area / outer.area
        if uncovered > GEOMETRY_TOLERANCE:
            problems.append(
                f"geography.geojson: {uncovered:.1%} of {parent} ({areas[parent].name}) is covered by "
                f"none of its {len(codes)} sub-areas (a missing area?)"
            )
        outside = covered.difference(outer).area / outer.area
        if outside > GEOMETRY_TOLERANCE:
            problems.append(
                f"geography.geojson: sub-areas of {parent} ({areas[parent].name}) reach {outside:.1%} of its "
                "size beyond its border"
            )
        tree = STRtree(shapes)
        for i, j in zip(*tree.query(shapes, predicate="intersects"), strict=True):
            if i >= j:
                continue
            a, b = shapes[i], shapes[j]
            shared = a.intersection(b).area
            smaller = min(a.area, b.area)
            if shared > GEOMETRY_TOLERANCE * smaller:
                problems.append(
                    f"geography.geojson: {codes[i]} and {codes[j]} overlap "
                    f"({shared / smaller:.1%} of the smaller)"
                )


def load_taxonomy(data: Any, problems: list[str]) -> Taxonomy:
    first: dict[str, str] = {}
    sub: dict[str, tuple[str, str]] = {}
    if not isinstance(data, list):
        problems.append("taxonomy.json: expected a list of first-level categories")
        return Taxonomy(first, sub)
    for item in data:
        code, name = (item or {}).get("code"), (item or {}).get("name")
        if not isinstance(code, str) or not isinstance(name, str):
            problems.append(f"taxonomy.json: category without code or name: {item!r}")
            continue
        if code in first:
            problems.append(f"taxonomy.json: duplicate code {code}")
        first[code] = name
        for child in item.get("children") or []:
            ccode, cname = (child or {}).get("code"), (child or {}).get("name")
            if not isinstance(ccode, str) or not isinstance(cname, str):
                problems.append(f"taxonomy.json: sub-category of {code} without code or name")
                continue
            if ccode in sub or ccode in first:
                problems.append(f"taxonomy.json: duplicate code {ccode}")
            sub[ccode] = (code, cname)
    return Taxonomy(first, sub)


def load_units(data: Any, problems: list[str]) -> list[Unit]:
    units: list[Unit] = []
    if not isinstance(data, list):
        problems.append("units.json: expected a list of units")
        return units
    seen: set[str] = set()
    for i, item in enumerate(data):
        try:
            unit = Unit(
                code=str(item["code"]),
                name=str(item["name"]),
                type=str(item["type"]),
                level=str(item.get("level") or ""),
                jurisdiction=str(item["jurisdiction"]),
                categories=tuple(str(c) for c in item.get("categories") or ()),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            problems.append(f"units.json: unit {i}: missing field {exc}")
            continue
        if unit.code in seen:
            problems.append(f"units.json: duplicate unit code {unit.code}")
        seen.add(unit.code)
        units.append(unit)
    return units


def check_units(units: list[Unit], areas: dict[str, Area], taxonomy: Taxonomy, problems: list[str]) -> None:
    for unit in units:
        area = areas.get(unit.jurisdiction)
        if area is None:
            problems.append(f"units.json: unit {unit.code} serves unknown area {unit.jurisdiction}")
        elif unit.level and LEVEL_ALIASES.get(unit.level, unit.level) != area.level:
            problems.append(
                f"units.json: unit {unit.code} has level {unit.level} but its area "
                f"{unit.jurisdiction} is at level {area.level}"
            )
        for code in unit.categories:
            if code not in taxonomy:
                problems.append(f"units.json: unit {unit.code} lists unknown category {code}")


def load_gazetteer(data: Any, problems: list[str]) -> list[GazetteerEntry]:
    entries: list[GazetteerEntry] = []
    if not isinstance(data, list):
        problems.append("gazetteer.json: expected a list of entries")
        return entries
    names: set[str] = set()
    for i, item in enumerate(data):
        try:
            lon, lat = item.get("lon"), item.get("lat")
            entry = GazetteerEntry(
                name=str(item["name"]).strip(),
                grid=item.get("grid") or None,
                village=item.get("village") or None,
                town=item.get("town") or None,
                lon=float(lon) if lon is not None else None,
                lat=float(lat) if lat is not None else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"gazetteer.json: entry {i}: bad entry ({exc})")
            continue
        if not entry.name:
            problems.append(f"gazetteer.json: entry {i}: empty name")
            continue
        if entry.name in names:
            problems.append(f"gazetteer.json: duplicate name {entry.name}")
        names.add(entry.name)
        entries.append(entry)
    return entries


def check_gazetteer(entries: list[GazetteerEntry], areas: dict[str, Area], problems: list[str]) -> None:
    def parent_of(code: str | None) -> str | None:
        area = areas.get(code) if code else None
        return area.parent if area else None

    for entry in entries:
        where = f"gazetteer.json: {entry.name}"
        if entry.town is None and entry.village is None and entry.grid is None:
            problems.append(f"{where}: places nothing (no grid, village or town)")
            continue
        ok = True
        for level, code in (("grid", entry.grid), ("village", entry.village), ("town", entry.town)):
            if code is None:
                continue
            area = areas.get(code)
            if area is None:
                problems.append(f"{where}: unknown {level} {code}")
                ok = False
            elif area.level != level:
                problems.append(f"{where}: {code} is a {area.level}, not a {level}")
                ok = False
        if not ok:
            continue
        if entry.grid and entry.village and parent_of(entry.grid) != entry.village:
            problems.append(f"{where}: grid {entry.grid} does not lie in village {entry.village}")
        if entry.village and entry.town and parent_of(entry.village) != entry.town:
            problems.append(f"{where}: village {entry.village} does not lie in town {entry.town}")
        if entry.grid and not entry.village and entry.town and parent_of(parent_of(entry.grid)) != entry.town:
            problems.append(f"{where}: grid {entry.grid} does not lie in town {entry.town}")


def _check_codes(codes: Iterable[str], taxonomy: Taxonomy, where: str, problems: list[str]) -> None:
    for code in codes:
        if code not in taxonomy:
            problems.append(f"{where}: unknown category code {code}")


def check_lexicon(lexicon: Lexicon, taxonomy: Taxonomy, problems: list[str]) -> None:
    _check_codes(lexicon.phrases, taxonomy, "lexicon.json: phrases", problems)
    for code, table in lexicon.phrases.items():
        for phrase in table:
            if not phrase.strip("…"):
                problems.append(f"lexicon.json: phrases.{code}: empty phrase")


def check_rules(rules: RoutingRules, taxonomy: Taxonomy, units: list[Unit], problems: list[str]) -> None:
    types = {u.type for u in units}
    tiers = {rules.default_tier, *(t.tier for t in rules.tiers)}
    named = [
        *((f"flag_unit_types.{flag}", t) for flag, ts in rules.flag_unit_types.items() for t in ts),
        *((f"tier_unit_types.{tier}", t) for tier, ts in rules.tier_unit_types.items() for t in ts),
        *(("fallback_lead_types", t) for t in rules.fallback_lead_types),
    ]
    for where, unit_type in named:
        if unit_type not in types:
            problems.append(f"routing_rules.json: {where}: no unit of type {unit_type} in units.json")
    for tier in rules.tier_unit_types:
        if tier not in tiers:
            problems.append(
                f"routing_rules.json: tier_unit_types: unknown tier {tier}; known: {sorted(tiers)}"
            )
    for name, rule in rules.flags.items():
        _check_codes(rule.categories, taxonomy, f"routing_rules.json: flags.{name}.categories", problems)
        _check_codes(
            rule.exclude_categories,
            taxonomy,
            f"routing_rules.json: flags.{name}.exclude_categories",
            problems,
        )
    for i, tier in enumerate(rules.tiers):
        _check_codes(tier.categories, taxonomy, f"routing_rules.json: tiers[{i}].categories", problems)
        for flag in tier.flags:
            if flag not in FLAG_NAMES:
                problems.append(f"routing_rules.json: tiers[{i}].flags: unknown flag {flag}")
    _check_confidential(rules, taxonomy, units, problems)


def _check_confidential(
    rules: RoutingRules, taxonomy: Taxonomy, units: list[Unit], problems: list[str]
) -> None:
    """Reports against officials need a county-level unit that takes them (never one of the place)."""
    where = "routing_rules.json: confidential"
    conf = rules.confidential
    for unit_type in conf.unit_types:
        if not any(u.type == unit_type and LEVEL_ALIASES.get(u.level) == "county" for u in units):
            problems.append(f"{where}.unit_types: no county-level unit of type {unit_type} in units.json")
    _check_codes([c for c in (conf.category, conf.subcategory) if c], taxonomy, where, problems)
    if conf.subcategory and conf.category and taxonomy.first_level(conf.subcategory) != conf.category:
        problems.append(f"{where}: subcategory {conf.subcategory} is not a child of {conf.category}")
