"""Lexicon classification and flags."""

from dispatch_common.phrases import PhraseMatcher, drop_contained, normalize_text
from services.routing.domain import Classifier, CountyPackage, RoutingRules, detect_flags
from services.routing.domain.models import FLAG_NAMES, CategoryChoice


def test_normalize_text() -> None:
    assert normalize_text("ＡＢＣ　１２３ 小区\n停水") == "abc123小区停水"


def test_gap_phrases_and_containment() -> None:
    matcher = PhraseMatcher([("拖欠…工资", "a"), ("工资", "b"), ("拖欠", "c")], gap=8)
    found = drop_contained(matcher.find("公司拖欠我们三个月工资"))
    assert [m.phrase for m in found] == ["拖欠…工资"]
    assert not PhraseMatcher([("拖欠…工资", "a")], gap=3).find("拖欠我们工人三个月的工资")
    assert not PhraseMatcher([("拖欠…工资", "a")]).find("拖欠了。工资")  # not across clauses


def test_every_subcategory_is_reachable_by_its_own_vocabulary(
    package: CountyPackage, classifier: Classifier
) -> None:
    missed = []
    for code, phrases in package.lexicon.phrases.items():
        if code not in package.taxonomy.sub:
            continue
        phrase = max(phrases, key=lambda p: (phrases[p], len(p)))
        choice = classifier.classify(phrase.replace("…", "了"))
        if choice.code != package.taxonomy.first_level(code):
            missed.append((code, phrase, choice.code))
    assert not missed


def test_nothing_matched(classifier: Classifier) -> None:
    choice = classifier.classify("今天天色不错")
    assert choice.code is None and choice.subcode is None and choice.confidence == 0


def test_confidence_and_evidence(package: CountyPackage, classifier: Classifier) -> None:
    code = next(iter(package.taxonomy.sub))
    strong = sorted(package.lexicon.phrases[code], key=lambda p: -package.lexicon.phrases[code][p])[:3]
    choice = classifier.classify("，".join(strong))
    assert choice.subcode == code
    assert 0.5 < choice.confidence <= 1
    assert set(choice.evidence) & set(strong)


def test_place_names_are_not_read_as_complaints(package: CountyPackage, classifier: Classifier) -> None:
    # A place name alone says nothing about the category, whatever words it is made of.
    for name in [a.name for a in package.areas.values()] + [e.name for e in package.gazetteer]:
        assert classifier.classify(name).code is None, name


def _flags(text: str, rules: RoutingRules, people: int | None = None, code: str | None = None) -> list[str]:
    category = CategoryChoice(code=code, subcode=None, confidence=1.0 if code else 0.0)
    return [name for name, _ in detect_flags(text, category, people, rules)]


def test_flags_from_phrases(package: CountyPackage) -> None:
    rules = package.rules
    assert "police" in _flags("昨晚有人打电话冒充客服，我被骗了", rules)
    assert "legal_aid" in _flags("老板拖欠我们三个月工资", rules)
    assert "psych" in _flags("最近一直失眠，活着没意思", rules)
    assert "mediation" in _flags("两家因为院墙发生争执", rules)
    assert "legal_redirect" in _flags("不服一审判决", rules)
    assert "out_of_scope" in _flags("楼下着火了，快来人", rules)


def test_flags_negated(package: CountyPackage) -> None:
    rules = package.rules
    assert "police" not in _flags("两名商户因摊位争执，无违法行为，转调解", rules)
    assert "police" not in _flags("他并没有打人", rules)
    assert "out_of_scope" not in _flags("楼道堆放杂物有火灾隐患", rules)
    assert "out_of_scope" not in _flags("吵了一架，没有人受伤", rules)
    assert "psych" not in _flags("楼上装修吵得我天天失眠", rules)


def test_flags_from_categories_and_people(package: CountyPackage) -> None:
    rules = package.rules
    mediation_code = rules.flags["mediation"].categories[0]
    assert "mediation" in _flags("情况说明", rules, code=mediation_code)
    threshold = rules.flags["group"].min_people
    assert "group" in _flags("情况说明", rules, people=threshold)
    assert "group" not in _flags("情况说明", rules, people=threshold - 1)
    excluded = rules.flags["mediation"].exclude_categories[0]
    assert "mediation" not in _flags("双方发生纠纷", rules, code=excluded)


def test_flag_order_is_stable(package: CountyPackage) -> None:
    found = _flags("我被骗了还和家里人吵架，一直失眠", package.rules, people=9)
    assert found == [f for f in FLAG_NAMES if f in found]


def test_the_lexicon_reads_the_first_classified_chars_of_a_text(classifier: Classifier) -> None:
    from services.routing.domain.classify import CLASSIFIED_CHARS

    said = "拖欠工资三个月了，老板不给。"
    assert classifier.classify(said).code == "05"
    filler = "。" * CLASSIFIED_CHARS  # a long letter whose matter comes after what the lexicon reads
    assert classifier.classify(filler + said).code is None
    assert classifier.classify(said + filler + said * 300).code == "05"  # a flood costs no more
