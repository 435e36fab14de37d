"""Placing cases by coordinates and by names."""

import bisect
import itertools
import math
import random
from collections import Counter

import pytest
import shapely

from services.routing.domain import CountyPackage, Jurisdiction, Locator


def test_every_gazetteer_point_lies_in_its_own_grid(package: CountyPackage, locator: Locator) -> None:
    wrong = []
    for entry in package.gazetteer:
        found = locator.locate_point(entry.lon, entry.lat)
        if found is None or (found.grid, found.village, found.town) != (
            entry.grid,
            entry.village,
            entry.town,
        ):
            wrong.append((entry.name, found))
    assert not wrong


def test_point_lookup_gives_the_parent_chain(package: CountyPackage, locator: Locator) -> None:
    entry = package.gazetteer[len(package.gazetteer) // 2]
    found = locator.locate_point(entry.lon, entry.lat)
    assert found is not None
    assert found.source == "coordinates"
    assert found.village == package.village_of(found.grid)
    assert found.town == package.town_of(found.grid)


def test_point_outside_the_county(package: CountyPackage, locator: Locator) -> None:
    minx, miny, maxx, maxy = package.geometries[package.county_code].bounds
    for lon, lat in [(minx - 1.0, miny), (maxx + 0.5, maxy + 0.5), (0.0, 0.0)]:
        assert not locator.in_county(lon, lat)
        assert locator.locate_point(lon, lat) is None


def test_every_interior_point_finds_a_grid(package: CountyPackage, locator: Locator) -> None:
    for area in package.areas_at("grid"):
        point = package.geometries[area.code].representative_point()
        found = locator.locate_point(point.x, point.y)
        assert found is not None and found.grid == area.code


def test_address_by_gazetteer_name(package: CountyPackage, locator: Locator) -> None:
    for entry in package.gazetteer:
        town = package.area_name(entry.town)
        found = locator.locate_address(f"{town}{entry.name}附近")
        assert found is not None, entry.name
        assert (found.grid, found.village, found.town) == (entry.grid, entry.village, entry.town)
        assert found.source == "gazetteer"


def test_address_by_area_name(package: CountyPackage, locator: Locator) -> None:
    village = package.areas_at("village")[0]
    town = package.areas[village.parent]
    found = locator.locate_address(f"{town.name}{village.name}某号")
    assert found is not None
    assert (found.town, found.village, found.grid, found.source) == (
        town.code,
        village.code,
        None,
        "area_name",
    )

    only_town = locator.locate_address(f"{town.name}某条街")
    assert only_town is not None
    assert (only_town.town, only_town.village, only_town.source) == (town.code, None, "area_name")


def test_village_of_another_town_is_not_guessed(package: CountyPackage, locator: Locator) -> None:
    towns = package.areas_at("town")
    village = next(v for v in package.areas_at("village") if v.parent != towns[0].code)
    match = locator.match_address(f"{towns[0].name}{village.name}")
    assert match.jurisdiction is None
    assert match.conflicts


@pytest.mark.parametrize("text", ["", "   ", "一个不存在的地方", None])
def test_unknown_address(locator: Locator, text: str | None) -> None:
    assert locator.locate_address(text) is None


def test_point_lookup_is_fast(package: CountyPackage, locator: Locator) -> None:
    import time

    points = [(e.lon, e.lat) for e in package.gazetteer] * 50
    start = time.perf_counter()
    for lon, lat in points:
        locator.locate_point(lon, lat)
    rate = len(points) / (time.perf_counter() - start)
    print(f"point lookups: {rate:,.0f}/s")
    assert rate > 5_000  # loose bound for slow CI machines; the target is 50,000/s


def _answer(found: Jurisdiction | None) -> tuple[dict[str, object], set[str]] | None:
    return None if found is None else (found.model_dump(), found.model_fields_set)


def _crossings(a0: float, a1: float, b0: float, b1: float, lines: list[float]) -> list[tuple[float, float]]:
    """Where the segment (a0, b0)-(a1, b1) crosses the lines a = const (sorted): (a, b) on each."""
    if a0 == a1:
        return []
    lo, hi = min(a0, a1), max(a0, a1)
    crossed = lines[bisect.bisect_left(lines, lo) : bisect.bisect_right(lines, hi)]
    return [(a, b0 + (a - a0) / (a1 - a0) * (b1 - b0)) for a in crossed]


def test_point_lookup_grid_answers_as_the_reference(package: CountyPackage, locator: Locator) -> None:
    """The lookup grid changes no answer: random points in and around the county, every vertex of
    every area and points along its edges (shared borders), points in the slivers no grid covers,
    points on the lines and corners of the lookup grid itself, and where borders cross those lines."""
    rng = random.Random(20260601)
    county = package.geometries[package.county_code]
    x0, y0, x1, y1 = county.bounds
    w, h = x1 - x0, y1 - y0
    points = [
        (rng.uniform(x0 - 0.1 * w, x1 + 0.1 * w), rng.uniform(y0 - 0.1 * h, y1 + 0.1 * h))
        for _ in range(10_000)
    ]
    _, _, _, _, sx, sy, nx, ny, _ = locator._lookup
    lines_x = sorted([x0 + i / sx for i in range(nx + 1)] + [x1, x0 - 1e-12, x1 + 1e-12])
    lines_y = sorted([y0 + j / sy for j in range(ny + 1)] + [y1, y0 - 1e-12, y1 + 1e-12])
    points += [(x, rng.uniform(y0, y1)) for x in lines_x] + [(rng.uniform(x0, x1), y) for y in lines_y]
    points += [(x, y) for x in lines_x[::7] for y in lines_y[::7]]
    for border in shapely.get_parts(shapely.boundary(list(package.geometries.values()))):
        coords = shapely.get_coordinates(border).tolist()
        points += [(x, y) for x, y in coords]
        for (ax, ay), (bx, by) in itertools.pairwise(coords):
            points += [(ax + t * (bx - ax), ay + t * (by - ay)) for t in (0.5, rng.random())]
            points += _crossings(ax, bx, ay, by, lines_x)
            points += [(x, y) for y, x in _crossings(ay, by, ax, bx, lines_y)]
    grids = shapely.union_all([package.geometries[a.code] for a in package.areas_at("grid")])
    slivers = shapely.get_parts(county.difference(grids))
    points += [(p.x, p.y) for p in shapely.point_on_surface(slivers)]
    points += [(x, y) for x, y in shapely.get_coordinates(slivers).tolist()]
    points += [(math.nan, y0), (x0, math.nan), (math.inf, y0), (x0, -math.inf)]

    expected = [locator._locate_point_reference(lon, lat) for lon, lat in points]
    wrong = [
        (lon, lat, found, want)
        for (lon, lat), want in zip(points, expected, strict=True)
        if _answer(found := locator.locate_point(lon, lat)) != _answer(want)
    ]
    assert not wrong, wrong[:5]
    levels = Counter(
        "outside" if j is None else "grid" if j.grid else "village" if j.village else "town" for j in expected
    )
    assert levels["outside"] and levels["grid"] and levels["village"] and levels["town"], levels
