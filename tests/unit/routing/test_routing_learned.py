"""The classifier learned from corrections, beside the lexicon; and flags and tiers from repeats."""

from dataclasses import replace

from services.routing.domain import RouteRequest
from services.routing.domain.learned import Example, LearnedClassifier
from services.routing.engine import RoutingEngine

# Words no lexicon of ours lists: a county's own vocabulary that dispatchers teach by correcting.
TEACH = {
    "a": ["灵芝岭索道又停摆了", "灵芝岭索道排队三小时", "索道票价又涨了灵芝岭", "灵芝岭索道安全吗"],
    "b": ["瓦当坊非遗展位被拆", "瓦当坊非遗手艺人补贴", "瓦当坊展位租金太贵", "非遗瓦当坊关门了"],
}


def _examples(engine: RoutingEngine, copies: int) -> tuple[list[Example], dict[str, str]]:
    firsts = list(engine.package.taxonomy.first)
    codes = {"a": firsts[0], "b": firsts[1]}
    examples = [
        Example(text=f"{text}{i}", code=codes[key])
        for key, texts in TEACH.items()
        for text in texts
        for i in range(copies)
    ]
    return examples, codes


def test_no_model_below_the_minimum_of_examples(package) -> None:
    engine = RoutingEngine(package)
    few, _ = _examples(engine, 1)
    assert len(few) < engine.package.rules.learning.min_examples
    assert engine.train(few).learned is None


def test_the_model_decides_where_the_lexicon_cannot_and_explains_with_n_grams(package) -> None:
    engine = RoutingEngine(package)
    examples, codes = _examples(engine, 5)
    text = "灵芝岭索道今天又停了"
    assert engine.decide(RouteRequest(channel="hotline_12345", text=text)).category.code is None
    trained = engine.train(examples)
    assert trained.learned is not None and trained.learned.examples == len(examples)
    choice = trained.decide(RouteRequest(channel="hotline_12345", text=text)).category
    assert choice.code == codes["a"]
    assert choice.confidence >= package.rules.learning.min_probability
    assert any("索道" in e or "灵芝" in e for e in choice.evidence)
    assert all(e.startswith("model n-gram") for e in choice.evidence)
    assert engine.learned is None  # training made a new engine; the old one is unchanged


def test_the_lexicon_keeps_the_cases_it_is_sure_of(package, sample_cases) -> None:
    engine = RoutingEngine(package)
    trained = engine.train(_examples(engine, 5)[0])
    for case in sample_cases:
        request = RouteRequest(**{k: v for k, v in case.items() if k not in ("id", "expect")})
        before = engine.decide(request).category
        if before.code is not None and before.confidence >= package.rules.manual_confidence_threshold:
            assert trained.decide(request).category == before, case["id"]


def test_a_second_level_model_answers_only_children_of_the_first_level_choice(package) -> None:
    engine = RoutingEngine(package)
    examples, codes = _examples(engine, 5)
    children = {key: package.taxonomy.children(code)[0] for key, code in codes.items()}
    labelled = [replace(e, subcode=children["a" if e.code == codes["a"] else "b"]) for e in examples]
    learned = LearnedClassifier.train(labelled, engine.lexicon.prepare, package.taxonomy.first_level)
    assert learned is not None
    choice = learned.classify("瓦当坊非遗展位")
    assert (choice.code, choice.subcode) == (codes["b"], children["b"])


def test_a_long_running_repeat_petitioner_is_flagged_and_tiered_by_the_rules(package) -> None:
    rules = package.rules
    psych = rules.flags["psych"].model_copy(update={"min_earlier_cases": 4})
    tiers = [
        type(rules.tiers[0])(tier="major", min_earlier_cases=6),
        type(rules.tiers[0])(tier="key", repeat=True),
        *rules.tiers,
    ]
    tuned = replace(
        package, rules=rules.model_copy(update={"flags": {**rules.flags, "psych": psych}, "tiers": tiers})
    )
    engine = RoutingEngine(tuned)
    text = "小区路灯坏了很久没人修"
    plain = engine.decide(RouteRequest(channel="hotline_12345", text=text))
    assert "psych" not in plain.flags and plain.tier == rules.default_tier
    repeat = engine.decide(RouteRequest(channel="hotline_12345", text=text, repeat=True, earlier_cases=1))
    assert repeat.tier == "key" and any("重复件" in line for line in repeat.explanation)
    long_running = engine.decide(
        RouteRequest(channel="hotline_12345", text=text, repeat=True, earlier_cases=6)
    )
    assert "psych" in long_running.flags and long_running.tier == "major"
    assert any("6 earlier cases" in line for line in long_running.explanation)


def test_a_key_matter_goes_up_to_the_level_the_rules_name(package) -> None:
    rules = package.rules.model_copy(update={"tier_unit_types": {"key": ["town_government"]}})
    engine = RoutingEngine(replace(package, rules=rules))
    entry = package.gazetteer[0]
    request = RouteRequest(
        channel="petition_visit", text="小区路灯坏了很久没人修", lon=entry.lon, lat=entry.lat
    )
    general = engine.decide(request)
    group = engine.decide(request.model_copy(update={"people_count": 12}))
    assert general.tier == rules.default_tier
    assert all(not u.role.startswith("tier:") for u in general.assisting_units)
    assert group.tier == "key"
    [up] = [u for u in group.assisting_units if u.role == "tier:key"]
    town_governments = [
        u for u in package.units if u.type == "town_government" and u.jurisdiction == entry.town
    ]
    assert up.code == town_governments[0].code
    assert any("三级代办" in line for line in group.explanation)


def test_tier_phrases_match_like_flags_and_respect_their_negators(package) -> None:
    rule = type(package.rules.tiers[0])(tier="key", phrases=["投诉…无果"], negators=["不是"])
    rules = package.rules.model_copy(update={"tiers": [rule]})
    engine = RoutingEngine(replace(package, rules=rules))
    said = engine.decide(RouteRequest(channel="hotline_12345", text="路灯坏了，多次投诉一直无果"))
    assert said.tier == "key" and any("投诉…无果" in line for line in said.explanation)
    denied = engine.decide(RouteRequest(channel="hotline_12345", text="路灯坏了，不是投诉无果，只是反映"))
    assert denied.tier == rules.default_tier
