"""Routing on the labelled sets of places as people say them and of flag precision (tests/data).

Each kind has a tuning set (`*_tune.jsonl`, what the matcher and the flag rules were tuned on) and a
reporting set (`*_eval.jsonl`, held out); both guard against regressions here. The figures are
printed so that a failure shows where routing stands.
"""

import json
from pathlib import Path

import pytest

from services.routing.domain import CategoryChoice, Jurisdiction, RouteDecision
from services.routing.engine import RoutingEngine
from services.routing.evaluate import Evaluation, evaluate, read_cases

DATA = Path(__file__).resolve().parents[2] / "data"
SETS = ("routing_places_tune", "routing_places_eval", "routing_flags_tune", "routing_flags_eval")


@pytest.fixture(scope="module")
def figures(county_dir: Path) -> dict[str, dict]:
    engine = RoutingEngine.from_dir(county_dir)
    out = {}
    for name in SETS:
        result = evaluate(engine, read_cases(DATA / f"{name}.jsonl")).figures()
        shown = {k: v for k, v in result.items() if k != "misses"}
        print(f"\n{name}:", json.dumps(shown, ensure_ascii=False))
        for miss in result["misses"]:
            print("  miss:", miss)
        out[name] = result
    return out


def test_the_sets_are_apart_and_labelled() -> None:
    ids: dict[str, str] = {}
    texts: set[tuple[str, str | None]] = set()
    for name in SETS:
        for case in read_cases(DATA / f"{name}.jsonl"):
            assert case["id"] not in ids, (case["id"], ids.get(case["id"]))
            ids[case["id"]] = name
            key = (case["text"], case.get("address"))
            assert key not in texts, key
            texts.add(key)
            assert "flags" in case["expect"]


@pytest.mark.parametrize("name", ["routing_places_tune", "routing_places_eval"])
def test_places_as_people_say_them(figures: dict, name: str) -> None:
    f = figures[name]
    assert f["town_accuracy"] >= 0.9 and f["village_accuracy"] >= 0.9, f
    assert f["placeable_unplaced"] <= 0.1, f
    assert f["no_location_to_manual"] == 1.0, f


@pytest.mark.parametrize("name", ["routing_flags_tune", "routing_flags_eval"])
def test_flags_are_precise_without_losing_recall(figures: dict, name: str) -> None:
    flags = figures[name]["flags"]
    for flag in ("mediation", "police"):
        assert flags[flag]["recall"] == 1.0, (flag, flags[flag])
        assert flags[flag]["precision"] >= 0.6, (flag, flags[flag])


def test_the_manual_queue_is_scored_both_ways() -> None:
    def decision(queue: str, town: str | None) -> RouteDecision:
        return RouteDecision(
            jurisdiction=Jurisdiction(town=town, source="gazetteer" if town else "none"),
            category=CategoryChoice(),
            tier="general",
            queue=queue,
        )

    result = Evaluation()
    result.add({"expect": {"flags": ["manual"], "town": None}}, decision("manual", None))
    result.add({"expect": {"flags": [], "town": "t"}}, decision("manual", None))
    result.add({"expect": {"flags": [], "town": "t"}}, decision("auto", "t"))
    figures = result.figures()
    assert figures["manual_queue"] == {"expected": 1, "sent": 2, "precision": 0.5, "recall": 1.0}
    assert figures["placeable_unplaced"] == 0.5
