"""decide() on the labelled sample cases, and on the edge cases of the routing rules."""

from services.routing.domain import Classifier, CountyPackage, Locator, RouteDecision, RouteRequest, decide


def _request(case: dict) -> RouteRequest:
    return RouteRequest(**{k: v for k, v in case.items() if k not in ("id", "expect")})


def _run(case: dict, package: CountyPackage, locator: Locator, classifier: Classifier) -> RouteDecision:
    return decide(_request(case), package, locator, classifier)


def test_sample_cases(
    sample_cases: list[dict], package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    first_ok = sub_ok = 0
    flag_expected = flag_found = 0
    for case in sample_cases:
        expect = case["expect"]
        decision = _run(case, package, locator, classifier)
        first_ok += decision.category.code == expect["category"]
        sub_ok += decision.category.subcode == expect.get("subcategory")
        for flag in expect["flags"]:
            flag_expected += 1
            if flag == "manual":
                flag_found += decision.queue == "manual" and decision.jurisdiction.town is None
            else:
                flag_found += flag in decision.flags
        if "manual" in expect["flags"]:
            assert decision.queue == "manual", case["id"]
            assert decision.jurisdiction.town is None, case["id"]
            assert decision.manual_reason, case["id"]
        elif expect.get("town") is not None:
            got = (decision.jurisdiction.town, decision.jurisdiction.village)
            assert got == (expect["town"], expect.get("village")), case["id"]
        assert decision.explanation
        decision.model_dump(mode="json")
    n = len(sample_cases)
    accuracy, sub_accuracy = first_ok / n, sub_ok / n
    recall = flag_found / flag_expected if flag_expected else 1.0
    print(
        f"\nsample cases: {n}; category accuracy {accuracy:.1%}; subcategory accuracy {sub_accuracy:.1%}; "
        f"flag recall {recall:.1%} ({flag_found}/{flag_expected})"
    )
    assert accuracy >= 0.9
    assert recall >= 0.8


def _unit_types(decision: RouteDecision) -> list[str]:
    return [u.type for u in decision.assisting_units]


def test_lead_unit_is_the_most_specific_competent_one(
    package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    entry = package.gazetteer[0]
    mediation = package.rules.flags["mediation"].categories[0]
    village_units = [
        u for u in package.units if u.jurisdiction == entry.village and mediation in u.categories
    ]
    assert village_units, "the reference county has village mediation committees"
    decision = decide(
        RouteRequest(channel="grid_report", text="两户邻居因为院墙吵架", lon=entry.lon, lat=entry.lat),
        package,
        locator,
        classifier,
    )
    assert decision.category.code == mediation
    assert decision.lead_unit is not None and decision.lead_unit.code == village_units[0].code
    assert "mediation" in decision.flags
    assert all(u.code != decision.lead_unit.code for u in decision.assisting_units)  # not listed twice
    assert decision.queue == "auto" and decision.tier == package.rules.default_tier


def test_county_level_competence_is_not_pushed_down(
    package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    entry = package.gazetteer[-1]
    decision = decide(
        RouteRequest(channel="hotline_12345", text="村里停电两天了", address=entry.name),
        package,
        locator,
        classifier,
    )
    assert decision.jurisdiction.source == "gazetteer"
    lead = next(u for u in package.units if u.code == decision.lead_unit.code)
    assert package.areas[lead.jurisdiction].level == "county"


def test_flag_units(package: CountyPackage, locator: Locator, classifier: Classifier) -> None:
    entry = package.gazetteer[5]
    decision = decide(
        RouteRequest(
            channel="hotline_12345",
            text="老板拖欠三个月工资不给，我最近一直失眠，还被他找人打了",
            lon=entry.lon,
            lat=entry.lat,
        ),
        package,
        locator,
        classifier,
    )
    assert {"legal_aid", "psych", "police"} <= set(decision.flags)
    types = _unit_types(decision)
    for flag in ("legal_aid", "psych", "police"):
        assert package.rules.flag_unit_types[flag][0] in types
    police = next(u for u in decision.assisting_units if u.role == "police")
    unit = next(u for u in package.units if u.code == police.code)
    assert unit.jurisdiction == entry.town


def test_coordinates_win_over_address(
    package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    here = package.gazetteer[0]
    there = next(e for e in package.gazetteer if e.town != here.town)
    decision = decide(
        RouteRequest(
            channel="hotline_12345", text="小区停水", address=there.name, lon=here.lon, lat=here.lat
        ),
        package,
        locator,
        classifier,
    )
    assert decision.jurisdiction.source == "coordinates"
    assert decision.jurisdiction.grid == here.grid
    assert any("conflict" in line for line in decision.explanation)


def test_outside_the_county(package: CountyPackage, locator: Locator, classifier: Classifier) -> None:
    minx, miny, _, _ = package.geometries[package.county_code].bounds
    decision = decide(
        RouteRequest(
            channel="hotline_12345",
            text="小区停水",
            address=package.gazetteer[0].name,
            lon=minx - 1,
            lat=miny - 1,
        ),
        package,
        locator,
        classifier,
    )
    assert decision.queue == "manual"
    assert decision.jurisdiction.town is None and decision.jurisdiction.source == "none"
    assert "outside the county" in decision.manual_reason


def test_no_location_goes_to_manual(package: CountyPackage, locator: Locator, classifier: Classifier) -> None:
    decision = decide(RouteRequest(channel="hotline_12345", text="小区停水"), package, locator, classifier)
    assert decision.queue == "manual"
    assert decision.jurisdiction.town is None
    assert "no usable location" in decision.manual_reason


def test_emergency_is_not_dispatched(
    package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    entry = package.gazetteer[3]
    decision = decide(
        RouteRequest(channel="hotline_12345", text="楼下饭店着火了，火很大", lon=entry.lon, lat=entry.lat),
        package,
        locator,
        classifier,
    )
    assert "out_of_scope" in decision.flags
    assert decision.queue == "manual" and decision.lead_unit is None and not decision.assisting_units
    assert "110/119/120" in decision.manual_reason


def test_low_confidence_goes_to_manual(
    package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    entry = package.gazetteer[3]
    decision = decide(
        RouteRequest(channel="hotline_12345", text="想反映一个情况", lon=entry.lon, lat=entry.lat),
        package,
        locator,
        classifier,
    )
    assert decision.category.code is None
    assert decision.queue == "manual" and decision.jurisdiction.town == entry.town
    assert decision.lead_unit is not None  # a fallback unit of the town is still proposed
    assert decision.lead_unit.type in package.rules.fallback_lead_types


def test_tiers(package: CountyPackage, locator: Locator, classifier: Classifier) -> None:
    entry = package.gazetteer[3]
    rules = package.rules
    group = rules.flags["group"].min_people
    major = max(t.min_people or 0 for t in rules.tiers)

    def tier(people: int) -> str:
        request = RouteRequest(
            channel="petition_visit", text="小区停水", lon=entry.lon, lat=entry.lat, people_count=people
        )
        return decide(request, package, locator, classifier).tier

    assert tier(1) == rules.default_tier
    assert tier(group) == "key"
    assert tier(major) == "major"


def test_decision_is_json_friendly(
    sample_cases: list[dict], package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    dumped = _run(sample_cases[0], package, locator, classifier).model_dump(mode="json")
    assert set(dumped) >= {
        "jurisdiction",
        "category",
        "flags",
        "lead_unit",
        "assisting_units",
        "tier",
        "queue",
    }
    assert RouteDecision.model_validate(dumped).model_dump(mode="json") == dumped


def _hinted(text: str, hint: str | None, package: CountyPackage, locator: Locator, classifier: Classifier):
    entry = package.gazetteer[0]
    request = RouteRequest(channel="hotline_12345", text=text, address=entry.name, category_hint=hint)
    return decide(request, package, locator, classifier)


def test_a_submitters_category_decides_where_the_text_is_silent_and_says_so(
    package: CountyPackage, locator: Locator, classifier: Classifier
) -> None:
    code = next(iter(package.taxonomy.sub))  # a second-level category: an Open311 service
    bare = _hinted("请尽快处理。", None, package, locator, classifier)
    assert bare.category.code is None and bare.queue == "manual"  # the text alone says nothing
    hinted = _hinted("请尽快处理。", code, package, locator, classifier)
    assert (hinted.category.code, hinted.category.subcode) == (package.taxonomy.first_level(code), code)
    assert hinted.category.confidence == package.rules.category_hint.confidence
    assert any("submitter's category" in line and code in line for line in hinted.explanation)
    assert "category" not in (hinted.manual_reason or "")


def test_a_confident_text_keeps_its_category_against_the_submitters_and_the_explanation_says_so(
    package: CountyPackage, locator: Locator, classifier: Classifier, sample_cases: list[dict]
) -> None:
    case = next(c for c in sample_cases if _run(c, package, locator, classifier).category.confidence >= 0.6)
    plain = _run(case, package, locator, classifier)
    other = next(c for c in package.taxonomy.sub if package.taxonomy.first_level(c) != plain.category.code)
    hinted = decide(_request(case).model_copy(update={"category_hint": other}), package, locator, classifier)
    assert hinted.category == plain.category
    assert any("the text's category is kept" in line and other in line for line in hinted.explanation)
    unknown = decide(
        _request(case).model_copy(update={"category_hint": "0000"}), package, locator, classifier
    )
    assert unknown.category == plain.category
    assert any("not in the taxonomy" in line for line in unknown.explanation)
