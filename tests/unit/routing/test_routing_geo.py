"""Placing cases by coordinates and by names."""

import pytest

from services.routing.domain import CountyPackage, Locator


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
