"""Placing a case in the county: by coordinates (point in polygon) or by names in an address.

Coordinates go down to the grid through a uniform lookup grid over the county's bounding box, built
at construction from STRtrees over the grid, village and town polygons: most cells answer at once
(outside the county, or inside one grid), the rest name the few polygons to test; village and town
follow from the parent chain. Addresses are matched against the gazetteer first (exact names, longest
match wins), then against the names of the areas themselves. Nothing is guessed: when the names
disagree and nothing disambiguates, the answer stays at the level where they agree, or is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from dispatch_common.phrases import PhraseMatch, PhraseMatcher, drop_contained, mask_spans, normalize_text

from .county import CountyPackage
from .models import Jurisdiction
from .place_words import canon, strip_level_word
from .places import CONFIDENCE, Place, PlaceHit, PlaceIndex, choose

LOOKUP_CELLS_PER_GRID = 256
"""About how many lookup cells (of the point lookup grid) fall to each grid polygon of the county."""
LOOKUP_CELLS_PER_SIDE = (64, 256)
"""Bounds on the lookup cells along the longer side of the county's bounding box (memory stays
bounded: at most 256 x 256 cells)."""
LOOKUP_CELL_MARGIN = 1e-6
"""Each lookup cell is classified as a box grown by this fraction of its size on every side, so
that a point rounded into a neighbouring cell is still covered by the box it is looked up in."""

_validate_jurisdiction = Jurisdiction.__pydantic_validator__.validate_python
"""Builds a Jurisdiction from a dict as `Jurisdiction(**fields)` does (same validation), a third cheaper."""

_Candidates = tuple[tuple[BaseGeometry, str], ...]
_Cell = str | tuple[bool, _Candidates] | None
"""A lookup cell: the code of the area every point of it lies in; or whether the county must be
checked and the polygons to test, in order, with their codes; or None when it is outside the county."""


@dataclass(frozen=True)
class AddressMatch:
    """What the names in a text say about where a case lies, with the reasoning behind it."""

    jurisdiction: Jurisdiction | None
    evidence: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    confidence: float = 0.0
    ambiguous: list[str] = field(default_factory=list)  # readings close enough to name different places


class Locator:
    """Point and name lookups over one county package; everything is precomputed at construction."""

    def __init__(self, package: CountyPackage) -> None:
        self.package = package
        areas = package.areas
        self._county_geom = package.geometries[package.county_code]
        shapely.prepare(self._county_geom)

        def indexed(level: str) -> tuple[list[str], list[BaseGeometry], STRtree | None]:
            codes = sorted(c for c, a in areas.items() if a.level == level and c in package.geometries)
            geoms = [package.geometries[c] for c in codes]
            for g in geoms:
                shapely.prepare(g)
            return codes, geoms, (STRtree(geoms) if geoms else None)

        self._levels = [indexed("grid"), indexed("village"), indexed("town")]
        self._point_fields: dict[str, dict[str, Any]] = {
            code: self._jurisdiction_fields(code) for codes, _, _ in self._levels for code in codes
        }
        self._lookup = self._build_lookup()

        # Name lookups.
        self._index = PlaceIndex(package)
        self._gazetteer: PhraseMatcher[Place] = PhraseMatcher(
            (p.name, p) for p in self._index.places if p.kind == "gazetteer"
        )
        self._areas: PhraseMatcher[str] = PhraseMatcher(
            (canon(a.name), a.code) for a in areas.values() if a.level in ("town", "village", "grid")
        )
        stems: list[tuple[str, str]] = []
        full_names = {canon(normalize_text(a.name)) for a in areas.values()}
        for area in areas.values():
            if area.level != "village":
                continue
            stem = strip_level_word(canon(normalize_text(area.name)))
            if stem and len(stem) >= 2 and stem not in full_names:
                stems.append((stem, area.code))
        self._stems: PhraseMatcher[str] = PhraseMatcher(stems)

    # -- coordinates ---------------------------------------------------------------------------

    def in_county(self, lon: float, lat: float) -> bool:
        return bool(shapely.intersects_xy(self._county_geom, lon, lat))

    def locate_point(self, lon: float, lat: float) -> Jurisdiction | None:
        """The grid (and its village and town) containing the point; None outside the county.

        The answer is that of `_locate_point_reference`: the first grid by code that covers the
        point, else the first village, else the first town; the lookup grid only saves the tests.
        """
        x0, y0, x1, y1, sx, sy, nx, ny, cells = self._lookup
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):  # also None for NaN
            return None
        i, j = int((lon - x0) * sx), int((lat - y0) * sy)  # on the east or north edge: the last cell
        cell = cells[(j if j < ny else ny - 1) * nx + (i if i < nx else nx - 1)]
        if cell is None:
            return None
        if not isinstance(cell, str):
            check_county, candidates = cell
            if check_county and not shapely.intersects_xy(self._county_geom, lon, lat):
                return None
            for geom, code in candidates:
                if shapely.intersects_xy(geom, lon, lat):
                    cell = code
                    break
            else:
                return None
        return _validate_jurisdiction({**self._point_fields[cell], "matched": f"{lon:.6f},{lat:.6f}"})

    def _locate_point_reference(self, lon: float, lat: float) -> Jurisdiction | None:
        """`locate_point` the straightforward way (county, then STRtree query and test per level);
        kept as the reference the lookup grid is tested against."""
        if not self.in_county(lon, lat):
            return None
        point = shapely.Point(lon, lat)
        for codes, geoms, tree in self._levels:
            if tree is None:
                continue
            for i in sorted(tree.query(point)):
                if shapely.intersects_xy(geoms[i], lon, lat):
                    return self._jurisdiction(codes[i], "coordinates", f"{lon:.6f},{lat:.6f}")
        return None

    def _build_lookup(self) -> tuple[float, float, float, float, float, float, int, int, list[_Cell]]:
        """The lookup grid over the county's bounding box: its bounds, cells per degree of lon and of
        lat, cells per row and per column, and the cells row by row (south to north, each row west
        to east).

        Each cell is classified as a box slightly larger than the cell (`LOOKUP_CELL_MARGIN`): None
        when the county does not touch the box; the area's code when the county covers the box and
        the first polygon `_locate_point_reference` would test that touches the box covers it; else
        the polygons touching the box in that order, up to the first that covers it (those after it
        are never reached), and whether the county must be checked first.
        """
        x0, y0, x1, y1 = self._county_geom.bounds  # a valid (multi)polygon: width and height > 0
        width, height = x1 - x0, y1 - y0
        low, high = LOOKUP_CELLS_PER_SIDE
        cells_wanted = max(1, len(self._levels[0][0])) * LOOKUP_CELLS_PER_GRID
        longer = max(width, height)
        size = longer / min(high, max(low, math.ceil(longer / math.sqrt(width * height / cells_wanted))))
        nx, ny = math.ceil(width / size), math.ceil(height / size)
        dx, dy = width / nx, height / ny
        row, col = np.divmod(np.arange(nx * ny), nx)
        mx, my = dx * LOOKUP_CELL_MARGIN, dy * LOOKUP_CELL_MARGIN
        boxes = shapely.box(
            x0 + col * dx - mx, y0 + row * dy - my, x0 + (col + 1) * dx + mx, y0 + (row + 1) * dy + my
        )
        touches_county = shapely.intersects(self._county_geom, boxes)
        in_county = shapely.covers(self._county_geom, boxes)

        # Per cell, the polygons touching its box in the order they are tested, up to the first that
        # covers the box; the next level is looked at only for the cells no polygon covers yet.
        tested: list[list[tuple[BaseGeometry, str]]] = [[] for _ in range(nx * ny)]
        settled = np.zeros(nx * ny, dtype=bool)
        todo = np.flatnonzero(touches_county)
        for codes, geoms, tree in self._levels:
            if tree is None or not todo.size:
                continue
            pair_cell, pair_geom = tree.query(boxes[todo], predicate="intersects")
            pair_cell = todo[pair_cell]
            order = np.lexsort((pair_geom, pair_cell))  # by cell, then by code
            pair_cell, pair_geom = pair_cell[order], pair_geom[order]
            covers = shapely.covers(np.asarray(geoms, dtype=object)[pair_geom], boxes[pair_cell])
            first_of_cell = np.maximum.accumulate(
                np.where(np.r_[True, pair_cell[1:] != pair_cell[:-1]], np.arange(len(pair_cell)), 0)
            )
            covers_before = np.cumsum(covers) - covers  # covering pairs before each pair, in its cell
            reached = covers_before == covers_before[first_of_cell]
            for k, g in zip(pair_cell[reached].tolist(), pair_geom[reached].tolist(), strict=True):
                tested[k].append((geoms[g], codes[g]))
            settled[pair_cell[reached & covers]] = True
            todo = todo[~settled[todo]]

        cells: list[_Cell] = [None] * (nx * ny)
        inside, whole = in_county.tolist(), (in_county & settled).tolist()
        for k in np.flatnonzero(touches_county).tolist():
            polygons = tested[k]
            if whole[k] and len(polygons) == 1:
                cells[k] = polygons[0][1]
            else:
                cells[k] = (not inside[k], tuple(polygons))
        return x0, y0, x1, y1, nx / width, ny / height, nx, ny, cells

    # -- names ---------------------------------------------------------------------------------

    def locate_address(self, address: str | None) -> Jurisdiction | None:
        return self.match_address(address).jurisdiction

    def match_address(self, address: str | None) -> AddressMatch:
        """Place a text by the names in it: gazetteer names (and the tolerant readings of places.py)
        first, then area names."""
        text = canon(normalize_text(address))
        if not text:
            return AddressMatch(None)
        pkg = self.package
        area_hits = drop_contained(self._areas.find(text))
        gaz_hits = drop_contained(self._gazetteer.find(text))
        named_towns = {m.payload for m in area_hits if pkg.areas[m.payload].level == "town"}
        named_villages = {pkg.village_of(m.payload) for m in area_hits} - {None}
        named_grids = {m.payload for m in area_hits if pkg.areas[m.payload].level == "grid"}

        hits = self._readings(text, gaz_hits, area_hits, named_towns, named_villages | named_grids)
        evidence: list[str] = []
        ambiguous: list[str] = []
        if hits:
            chosen = choose(hits, named_towns, named_villages, self.package.rules.places)
            evidence = chosen.evidence
            if chosen.place is not None:
                code, kept = chosen.place, chosen.hits
                source = "gazetteer" if any(h.place.kind == "gazetteer" for h in kept) else "area_name"
                names = "、".join(dict.fromkeys(h.place.label for h in kept))
                jur = self._jurisdiction(code, source, names)
                conflicts = self._conflicts(jur, named_towns, named_villages)
                return AddressMatch(jur, evidence, conflicts, chosen.confidence, ambiguous)
            ambiguous = chosen.ambiguous

        # Area names: grid > village > town, all of which must agree.
        villages = set(named_villages)
        names_read = [m.phrase for m in area_hits]
        if not villages and named_towns:
            # Short village names, only outside the full names already read and only in a town named.
            rest = mask_spans(text, [(m.start, m.end) for m in [*area_hits, *gaz_hits]])
            for m in drop_contained(self._stems.find(rest)):
                if pkg.town_of(m.payload) in named_towns:
                    villages.add(m.payload)
                    names_read.append(m.phrase)
                    evidence.append(f"village short name '{m.phrase}' in the town named")
        if named_towns:
            outside = {v for v in villages if pkg.town_of(v) not in named_towns}
            if outside:
                names = "、".join(sorted(pkg.areas[v].name for v in outside))
                return AddressMatch(
                    None, evidence, [f"village(s) {names} not in the town named"], 0.0, ambiguous
                )
        towns = named_towns | {pkg.town_of(v) for v in villages}
        if len(towns) != 1:
            if len(towns) > 1:
                names = "、".join(sorted(pkg.areas[t].name for t in towns if t))
                return AddressMatch(None, evidence, [f"names of several towns ({names})"], 0.0, ambiguous)
            return AddressMatch(None, evidence, [], 0.0, ambiguous)
        if len(named_grids) == 1 and {pkg.village_of(g) for g in named_grids} >= villages:
            code = next(iter(named_grids))
        elif len(villages) == 1:
            code = next(iter(villages))
        else:
            code = next(iter(towns))
        matched = "、".join(names_read) or None
        evidence.append(f"area name (区划名称) '{matched or pkg.areas[code].name}'")
        confidence = CONFIDENCE["variant"] if len(names_read) > len(area_hits) else CONFIDENCE["exact"]
        return AddressMatch(
            self._jurisdiction(code, "area_name", matched), evidence, [], confidence, ambiguous
        )

    def _readings(
        self,
        text: str,
        gaz_hits: list[PhraseMatch[Place]],
        area_hits: list[PhraseMatch[str]],
        towns: set[str],
        villages_or_grids: set[str],
    ) -> list[PlaceHit]:
        """Gazetteer names as listed or with a level word dropped or added; else a village group or
        a street the gazetteer does not list with that number; else, where no village was named,
        names with one character wrong (places.py)."""
        index = self._index
        hits = [
            PlaceHit(
                m.payload,
                m.phrase,
                "exact",
                CONFIDENCE["exact"],
                f"gazetteer name (地名库) '{m.payload.label}'",
                m.start,
                m.end,
            )
            for m in gaz_hits
        ]
        rest = mask_spans(text, [(h.start, h.end) for h in hits])
        hits += index.variant_hits(rest)
        if hits:
            return hits
        hits = index.group_hits(rest) + index.street_hits(rest)
        if hits or villages_or_grids:
            return hits
        rest = mask_spans(rest, [(m.start, m.end) for m in area_hits])
        return index.edit_hits(rest[: self.package.rules.places.edit_chars], towns)

    # -- helpers -------------------------------------------------------------------------------

    def _jurisdiction(self, code: str, source: str, matched: str | None) -> Jurisdiction:
        pkg = self.package
        level = pkg.areas[code].level
        return Jurisdiction(
            town=pkg.town_of(code),
            village=pkg.village_of(code),
            grid=code if level == "grid" else None,
            source=source,  # type: ignore[arg-type]
            matched=matched,
        )

    def _jurisdiction_fields(self, code: str) -> dict[str, Any]:
        """The fields of the point answer for an area, all but ``matched`` (as `_jurisdiction` sets them)."""
        jur = self._jurisdiction(code, "coordinates", None)
        return {"town": jur.town, "village": jur.village, "grid": jur.grid, "source": jur.source}

    def _conflicts(self, jur: Jurisdiction, towns: set[str | None], villages: set[str | None]) -> list[str]:
        pkg = self.package
        out = []
        if towns and jur.town not in towns:
            names = "、".join(sorted(pkg.areas[t].name for t in towns if t))
            out.append(
                f"the address also names {names}, but the gazetteer places it in {pkg.area_name(jur.town)}"
            )
        elif villages and jur.village and jur.village not in villages:
            names = "、".join(sorted(pkg.areas[v].name for v in villages if v))
            out.append(
                f"the address also names {names}, but the gazetteer places it in {pkg.area_name(jur.village)}"
            )
        return out
