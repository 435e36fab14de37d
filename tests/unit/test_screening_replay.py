"""What a screening replay compares, pure: the question a stored case asked (the clear text where
numbers were sealed), the rules' outcome of a case a person screened, the parts that change, what a
confidential report's side leaves out, and the totals by outcome; and the rules' content digest."""

import json

import pytest

from dispatch_common.paths import DATA_DIR
from services.intake.domain.screening import (
    KB_FILE,
    RULES_FILE,
    Screener,
    ScreeningRules,
    ScreeningRulesError,
    read_texts,
)
from services.intake.domain.screening_replay import (
    Tally,
    changed_parts,
    outline,
    question,
    rules_outcome,
    side,
)

RULES, KB = DATA_DIR / "intake" / "screening_rules.json", DATA_DIR / "intake" / "knowledge_base.json"


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return read_texts(RULES, KB)[0]


def with_min(texts: dict[str, str], chars: int) -> dict[str, str]:
    rules = json.loads(texts[RULES_FILE])
    rules["min_text_chars"] = chars
    return texts | {RULES_FILE: json.dumps(rules, ensure_ascii=False)}


def test_the_question_reads_the_clear_text_and_what_was_stored() -> None:
    case = {
        "channel": "hotline_12345",
        "text": "请回电138****5678",
        "address": "幸福路",
        "location": {"lon": 1.0, "lat": 2.0},
        "people_count": 3,
        "petitioner": {"anonymous": False, "name_enc": "..."},
    }
    asked = question(case, {"text": "请回电13812345678"}, outside_county=True)
    assert (asked.text, asked.address, asked.has_location) == ("请回电13812345678", "幸福路", True)
    assert (asked.outside_county, asked.people_count, asked.anonymous) == (True, 3, False)
    bare = question({"channel": "web", "text": "路灯坏了"}, {}, outside_county=None)
    assert (bare.has_location, bare.anonymous, bare.outside_county) == (False, True, None)


def test_a_case_a_person_screened_was_manual_by_the_rules() -> None:
    assert rules_outcome({"outcome": "accepted", "screened_by": "clerk-1"}) == "manual"
    assert rules_outcome({"outcome": "accepted"}) == "accepted"


def test_the_digest_follows_the_text_not_the_declared_version(texts: dict[str, str]) -> None:
    same = ScreeningRules.from_texts(texts)
    assert same.digest == ScreeningRules.from_file(RULES, KB).digest
    changed = ScreeningRules.from_texts(with_min(texts, 12))
    assert changed.version == same.version and changed.digest != same.digest


def test_a_bad_candidate_names_its_file(texts: dict[str, str]) -> None:
    with pytest.raises(ScreeningRulesError) as raised:
        ScreeningRules.from_texts(texts | {KB_FILE: "{", RULES_FILE: "{}"})
    assert {p.split(":")[0] for p in raised.value.problems} == {"rules", "knowledge base"}


def test_the_tally_counts_moves_drift_and_changed_parts(texts: dict[str, str]) -> None:
    now, candidate = (
        Screener(ScreeningRules.from_texts(texts)),
        Screener(ScreeningRules.from_texts(with_min(texts, 12))),
    )
    tally = Tally()
    long = question({"channel": "web", "text": "村口路灯坏了一个月没人修，晚上出行很不方便。"}, {}, None)
    short = question({"channel": "web", "text": "路灯坏了没人修"}, {}, None)
    assert tally.add({"outcome": "accepted"}, now.screen(long), candidate.screen(long)) == []
    parts = tally.add({"outcome": "manual"}, now.screen(short), candidate.screen(short))
    assert (
        parts
        == ["outcome", "reason"]
        == changed_parts(outline(now.screen(short)), outline(candidate.screen(short)))
    )
    assert tally.result() == {
        "cases": 2,
        "changed": 1,
        "drifted": 1,  # the short case was stored as manual, the rules in use accept it
        "changed_parts": {"outcome": 1, "reason": 1},
        "outcomes": [
            {"before": "accepted", "after": "accepted", "cases": 1},
            {"before": "accepted", "after": "manual", "cases": 1},
        ],
        "before": {"accepted": 2},
        "after": {"accepted": 1, "manual": 1},
    }


def test_a_confidential_side_leaves_the_evidence_out(texts: dict[str, str]) -> None:
    report = Screener(ScreeningRules.from_texts(texts)).screen(
        question({"channel": "hotline_12345", "text": "村支书收了红包，大家敢怒不敢言。"}, {}, None)
    )
    assert report.confidential and report.evidence
    assert side(report, withheld=True)["evidence"] == [] and side(report, withheld=False)["evidence"]
