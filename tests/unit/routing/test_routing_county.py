"""Loading and validating a county package."""

import json
import shutil
from pathlib import Path

import pytest

from services.routing.domain import CountyPackage, CountyPackageError
from services.routing.domain.county import LEVELS


def test_reference_package_loads(package: CountyPackage) -> None:
    assert package.areas[package.county_code].level == "county"
    assert {a.level for a in package.areas.values()} == set(LEVELS)
    assert len(package.version) == 12
    assert package.units and package.gazetteer
    assert package.taxonomy.first and package.taxonomy.sub
    # Every second-level category has its own vocabulary in the lexicon.
    assert set(package.taxonomy.sub) <= set(package.lexicon.phrases)


def test_hierarchy_helpers(package: CountyPackage) -> None:
    grid = next(a for a in package.areas.values() if a.level == "grid")
    village = package.village_of(grid.code)
    town = package.town_of(grid.code)
    assert village == grid.parent
    assert town == package.areas[village].parent
    assert package.ancestors(grid.code) == [grid.code, village, town, package.county_code]
    assert package.town_of(package.county_code) is None
    assert package.village_of(town) is None


def test_version_is_stable(county_dir: Path, package: CountyPackage) -> None:
    assert CountyPackage.from_dir(county_dir).version == package.version


def _broken_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    geo = json.loads((dst / "geography.geojson").read_text(encoding="utf-8"))
    village = next(f for f in geo["features"] if f["properties"]["level"] in ("village", "community"))
    village["properties"]["parent"] = "NO-SUCH-TOWN"
    (dst / "geography.geojson").write_text(json.dumps(geo, ensure_ascii=False), encoding="utf-8")

    units = json.loads((dst / "units.json").read_text(encoding="utf-8"))
    units[0]["jurisdiction"] = "NO-SUCH-AREA"
    units[1]["categories"] = ["7777"]
    (dst / "units.json").write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")

    gaz = json.loads((dst / "gazetteer.json").read_text(encoding="utf-8"))
    other_village = next(e["village"] for e in gaz if e["village"] != gaz[0]["village"])
    gaz[0]["village"] = other_village  # grid no longer lies in this village
    gaz[1]["grid"] = "NO-SUCH-GRID"
    (dst / "gazetteer.json").write_text(json.dumps(gaz, ensure_ascii=False), encoding="utf-8")

    lex = json.loads((dst / "lexicon.json").read_text(encoding="utf-8"))
    lex["phrases"]["8888"] = {"whatever": 1}
    (dst / "lexicon.json").write_text(json.dumps(lex, ensure_ascii=False), encoding="utf-8")

    rules = json.loads((dst / "routing_rules.json").read_text(encoding="utf-8"))
    rules["flags"]["mediation"]["categories"].append("9999")
    (dst / "routing_rules.json").write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    return dst


def test_broken_package_lists_every_problem(county_dir: Path, tmp_path: Path) -> None:
    broken = _broken_copy(county_dir, tmp_path / "broken")
    with pytest.raises(CountyPackageError) as caught:
        CountyPackage.from_dir(broken)
    problems = "\n".join(caught.value.problems)
    assert "unknown parent NO-SUCH-TOWN" in problems
    assert "serves unknown area NO-SUCH-AREA" in problems
    assert "unknown category 7777" in problems
    assert "does not lie in village" in problems
    assert "unknown grid NO-SUCH-GRID" in problems
    assert "lexicon.json: phrases: unknown category code 8888" in problems
    assert "flags.mediation.categories: unknown category code 9999" in problems
    assert len(caught.value.problems) >= 7


def test_missing_and_invalid_files(county_dir: Path, tmp_path: Path) -> None:
    dst = tmp_path / "partial"
    shutil.copytree(county_dir, dst)
    (dst / "lexicon.json").unlink()
    (dst / "units.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CountyPackageError) as caught:
        CountyPackage.from_dir(dst)
    assert any(p.startswith("lexicon.json: cannot read") for p in caught.value.problems)
    assert any(p.startswith("units.json: not valid") for p in caught.value.problems)


def test_bad_rules_shape_is_reported(county_dir: Path, tmp_path: Path) -> None:
    dst = tmp_path / "rules"
    shutil.copytree(county_dir, dst)
    rules = json.loads((dst / "routing_rules.json").read_text(encoding="utf-8"))
    rules["flags"]["no_such_flag"] = {}
    rules["manual_confidence_threshold"] = 3
    (dst / "routing_rules.json").write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CountyPackageError) as caught:
        CountyPackage.from_dir(dst)
    problems = "\n".join(caught.value.problems)
    assert "no_such_flag" in problems
    assert "manual_confidence_threshold" in problems


def _edit_geography(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    path = dst / "geography.geojson"
    geo = json.loads(path.read_text(encoding="utf-8"))
    edit(geo["features"])
    path.write_text(json.dumps(geo, ensure_ascii=False), encoding="utf-8")
    return dst


def _grids(features: list[dict]) -> list[dict]:
    return [f for f in features if f["properties"]["level"] == "grid"]


def test_a_missing_area_is_refused(county_dir: Path, tmp_path: Path) -> None:
    removed: list[str] = []

    def drop_a_grid(features: list[dict]) -> None:
        grid = _grids(features)[0]
        removed.append(grid["properties"]["parent"])
        features.remove(grid)

    broken = _edit_geography(county_dir, tmp_path / "pkg", drop_a_grid)
    with pytest.raises(CountyPackageError) as refused:
        CountyPackage.from_dir(broken)
    assert any(removed[0] in p and "covered by none of its" in p for p in refused.value.problems)


def test_overlapping_siblings_are_refused(county_dir: Path, tmp_path: Path) -> None:
    pair: list[str] = []

    def grow_a_grid(features: list[dict]) -> None:
        from shapely.geometry import mapping, shape

        grid = _grids(features)[0]
        sibling = next(
            g for g in _grids(features)[1:] if g["properties"]["parent"] == grid["properties"]["parent"]
        )
        merged = shape(grid["geometry"]).union(shape(sibling["geometry"]).buffer(-1e-4))
        grid["geometry"] = mapping(merged.buffer(0))
        pair.extend([grid["properties"]["code"], sibling["properties"]["code"]])

    broken = _edit_geography(county_dir, tmp_path / "pkg", grow_a_grid)
    with pytest.raises(CountyPackageError) as refused:
        CountyPackage.from_dir(broken)
    assert any("overlap" in p and all(code in p for code in pair) for p in refused.value.problems)


def test_sub_areas_beyond_their_parent_are_refused(county_dir: Path, tmp_path: Path) -> None:
    def push_a_grid_out(features: list[dict]) -> None:
        from shapely import affinity
        from shapely.geometry import mapping, shape

        grid = _grids(features)[0]
        grid["geometry"] = mapping(affinity.translate(shape(grid["geometry"]), xoff=5.0))

    broken = _edit_geography(county_dir, tmp_path / "pkg", push_a_grid_out)
    with pytest.raises(CountyPackageError) as refused:
        CountyPackage.from_dir(broken)
    problems = "\n".join(refused.value.problems)
    assert "beyond its border" in problems and "covered by none" in problems


def test_rules_naming_unit_types_or_tiers_the_package_lacks_are_refused(
    county_dir: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "pkg"
    shutil.copytree(county_dir, dst)
    rules = json.loads((dst / "routing_rules.json").read_text(encoding="utf-8"))
    rules["flag_unit_types"]["police"] = ["no_such_type"]
    rules["tier_unit_types"] = {"urgentest": ["town_government"]}
    (dst / "routing_rules.json").write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CountyPackageError) as refused:
        CountyPackage.from_dir(dst)
    problems = "\n".join(refused.value.problems)
    assert "no unit of type no_such_type" in problems and "unknown tier urgentest" in problems


def test_codes_and_tiers_the_event_contract_refuses_are_refused_at_load(
    county_dir: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "pkg"
    shutil.copytree(county_dir, dst)
    taxonomy = json.loads((dst / "taxonomy.json").read_text(encoding="utf-8"))
    taxonomy.append({"code": "ABC", "name": "不合规", "children": []})
    (dst / "taxonomy.json").write_text(json.dumps(taxonomy, ensure_ascii=False), encoding="utf-8")
    rules = json.loads((dst / "routing_rules.json").read_text(encoding="utf-8"))
    rules["tiers"].append({"tier": "urgent", "min_people": 100})
    (dst / "routing_rules.json").write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CountyPackageError) as refused:
        CountyPackage.from_dir(dst)
    problems = "\n".join(refused.value.problems)
    assert "code ABC is not" in problems and "tier urgent is not one of" in problems


def test_a_return_limit_that_disagrees_with_the_objection_limit_is_refused(
    county_dir: Path, tmp_path: Path
) -> None:
    from dispatch_common.objection import return_limit_problems
    from dispatch_common.paths import DATA_DIR
    from services.routing.container import load_engine

    table = DATA_DIR / "policy" / "deadlines.json"
    assert load_engine(county_dir, table).package.rules.return_working_days == 5  # the shipped data agree
    changed = tmp_path / "county"
    shutil.copytree(county_dir, changed)
    rules_file = changed / "routing_rules.json"
    rules_file.write_text(
        json.dumps(json.loads(rules_file.read_text(encoding="utf-8")) | {"return_working_days": 7}),
        encoding="utf-8",
    )
    with pytest.raises(CountyPackageError, match="return_working_days is 7 but the objection limit"):
        load_engine(changed, table)
    no_objection = tmp_path / "deadlines.json"
    raw = json.loads(table.read_text(encoding="utf-8"))
    raw["deadlines"] = [d for d in raw["deadlines"] if d["kind"] != "objection"]
    no_objection.write_text(json.dumps(raw), encoding="utf-8")
    assert load_engine(changed, no_objection).package.rules.return_working_days == 7  # nothing to agree with
    natural = [
        d | {"calendar": "natural"} if d["kind"] == "objection" else d
        for d in json.loads(table.read_text())["deadlines"]
    ]
    no_objection.write_text(json.dumps(raw | {"deadlines": natural}), encoding="utf-8")
    assert return_limit_problems(5, no_objection)  # 5 natural days are not 5 working days
