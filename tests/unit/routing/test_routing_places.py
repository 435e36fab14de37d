"""Places as people say them: the tolerant readings of the place matcher (places.py, geo.py, decide.py).

Every name is taken from the reference package, so the tests hold for any county package with the
same kinds of names (numbered streets, village groups, grids named after their village).
"""

import re

import pytest

from dispatch_common.numerals import chinese_number
from services.routing.domain import CountyPackage, Locator, RouteRequest
from services.routing.domain.place_words import canon, strip_level_word
from services.routing.engine import RoutingEngine

STREET = re.compile(r"^(.+?(?:大街|大道|路|街|巷))(\d+)号$")


@pytest.fixture(scope="module")
def engine(county_dir) -> RoutingEngine:
    return RoutingEngine.from_dir(county_dir)


def _where(found) -> tuple:
    return (found.town, found.village, found.grid) if found else None


def _group_entry(package: CountyPackage):
    """A gazetteer entry `<village short name><n>组` (the village's 村 left out)."""
    for e in package.gazetteer:
        village = package.area_name(e.village) or ""
        stem = strip_level_word(village)
        if stem != village and e.name.startswith(stem) and not e.name.startswith(village) and "组" in e.name:
            return e, village, stem
    raise AssertionError("the package has no village group entry")


def test_numbers_read_alike_in_both_numerals() -> None:
    assert [chinese_number(n) for n in ("二", "十", "十二", "二十", "一百零五")] == [2, 10, 12, 20, 105]
    assert canon("前后二组和十二号楼") == "前后2组和12号楼"


def test_another_house_number_on_a_listed_street(package: CountyPackage, locator: Locator) -> None:
    entry = next(e for e in package.gazetteer if STREET.match(e.name))
    street, number = STREET.match(entry.name).groups()
    others = {
        STREET.match(e.name).group(2)
        for e in package.gazetteer
        if (m := STREET.match(e.name)) and m.group(1) == street
    }
    said = f"{street}{int(number) + 2}号"
    assert str(int(number) + 2) not in others
    match = locator.match_address(said)
    assert _where(match.jurisdiction) == (entry.town, entry.village, entry.grid)
    assert match.jurisdiction.matched == entry.name
    assert street in " ".join(match.evidence) and 0.6 <= match.confidence < 1.0


def test_a_level_word_added_or_dropped(package: CountyPackage, locator: Locator) -> None:
    entry, village, stem = _group_entry(package)
    with_word = village + entry.name[len(stem) :]  # 前进二组 said as 前进村二组
    assert _where(locator.locate_address(with_word)) == (entry.town, entry.village, entry.grid)

    grid = package.areas_at("grid")[0]
    parent = package.area_name(grid.parent)
    dropped = grid.name.replace(parent, strip_level_word(parent))  # 幸福社区第1网格 said as 幸福第1网格
    assert dropped != grid.name
    assert locator.locate_address(dropped).grid == grid.code


def test_a_group_the_gazetteer_does_not_list_gives_its_village(
    package: CountyPackage, locator: Locator
) -> None:
    entry, _, stem = _group_entry(package)
    found = locator.locate_address(f"{stem}九组")
    assert _where(found) == (entry.town, entry.village, None)


def test_one_character_wrong(package: CountyPackage, locator: Locator) -> None:
    entry = next(e for e in package.gazetteer if len(e.name) >= 5 and not STREET.match(e.name))
    typo = entry.name[:3] + "口" + entry.name[4:]
    match = locator.match_address(typo)
    assert _where(match.jurisdiction) == (entry.town, entry.village, entry.grid)
    assert match.confidence < 1.0 and "one character differs" in " ".join(match.evidence)


def test_a_short_name_with_a_wrong_character_needs_its_town(package: CountyPackage, locator: Locator) -> None:
    village = next(v for v in package.areas_at("village") if len(v.name) == 3)
    typo = village.name[0] + "口" + village.name[2]
    assert locator.locate_address(typo) is None
    town = package.areas[village.parent].name
    assert locator.locate_address(town + typo).village == village.code


def test_a_wrong_digit_is_never_read_as_another_name(package: CountyPackage, locator: Locator) -> None:
    grid = next(g for g in package.areas_at("grid") if "1" in g.name)
    assert locator.locate_address(grid.name.replace("1", "7")).grid is None


def test_two_readings_in_different_towns_go_to_a_dispatcher(
    package: CountyPackage, engine: RoutingEngine
) -> None:
    by_town: dict[str, str] = {}
    for e in package.gazetteer:
        if len(e.name) >= 5 and not STREET.match(e.name):
            by_town.setdefault(e.town, e.name)
    a, b = list(by_town.values())[:2]
    text = f"{a[:3]}口{a[4:]}和{b[:3]}口{b[4:]}之间的路灯坏了"
    decision = engine.decide(RouteRequest(channel="hotline_12345", text=text))
    assert decision.queue == "manual" and decision.jurisdiction.town is None
    assert "地点有歧义" in decision.manual_reason


def test_the_place_in_the_text_wins_over_the_callers_home(
    package: CountyPackage, engine: RoutingEngine
) -> None:
    home = package.gazetteer[0]
    there = next(e for e in package.gazetteer if e.town != home.town)
    text = f"{there.name}附近有人倒垃圾，臭气熏天。"
    marked = engine.decide(RouteRequest(channel="hotline_12345", text=text, address=f"家住{home.name}"))
    assert marked.jurisdiction.town == there.town
    assert any("caller's home" in line for line in marked.explanation)
    unmarked = engine.decide(RouteRequest(channel="hotline_12345", text=text, address=home.name))
    assert unmarked.jurisdiction.town == home.town


def test_the_explanation_says_which_place_was_meant_and_why(
    package: CountyPackage, engine: RoutingEngine
) -> None:
    entry = next(e for e in package.gazetteer if STREET.match(e.name))
    street, number = STREET.match(entry.name).groups()
    decision = engine.decide(
        RouteRequest(
            channel="hotline_12345", text="楼下烧烤店油烟太大", address=f"{street}{int(number) + 2}号"
        )
    )
    line = next(x for x in decision.explanation if x.startswith("Location by"))
    assert entry.name in line and "confidence" in line and decision.queue == "auto"
