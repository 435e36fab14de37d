"""Routing on the development set of labelled cases (tests/data/routing_dev_cases.jsonl).

The set is written in the general language of complaints (hotline, letters and visits, grid reports,
110 transfers), not in the words of the lexicon; it guards the county package's vocabulary and rules
against regressions. The figures are printed so that a failure shows where routing stands.
"""

import json
from pathlib import Path

import pytest

from services.routing.engine import RoutingEngine
from services.routing.evaluate import evaluate, read_cases

DEV_CASES = Path(__file__).resolve().parents[2] / "data" / "routing_dev_cases.jsonl"


@pytest.fixture(scope="module")
def figures(county_dir: Path) -> dict:
    engine = RoutingEngine.from_dir(county_dir)
    result = evaluate(engine, read_cases(DEV_CASES)).figures()
    shown = {k: v for k, v in result.items() if k not in ("flags", "misses")}
    print("\nrouting on the development cases:", json.dumps(shown, ensure_ascii=False))
    for flag, f in result["flags"].items():
        print(f"  {flag:<15} expected {f['expected']:>3}  precision {f['precision']}  recall {f['recall']}")
    for miss in result["misses"]:
        print("  miss:", miss)
    return result


def test_the_development_set_is_large_and_covers_every_category(county_dir: Path) -> None:
    cases = read_cases(DEV_CASES)
    taxonomy = json.loads((county_dir / "taxonomy.json").read_text(encoding="utf-8"))
    counts = {first["code"]: 0 for first in taxonomy}
    for case in cases:
        counts[case["expect"]["category"]] += 1
    assert len(cases) >= 180
    assert min(counts.values()) >= 8, counts
    assert len({case["id"] for case in cases}) == len(cases)


def test_category_accuracy(figures: dict) -> None:
    assert figures["category_accuracy"] >= 0.9, figures["category_accuracy"]


def test_flag_recall(figures: dict) -> None:
    assert figures["flag_recall"] >= 0.8, figures["flag_recall"]


def test_every_located_case_in_its_town(figures: dict) -> None:
    assert figures["town_accuracy"] == 1.0, figures["town_accuracy"]


def test_every_case_without_location_to_the_manual_queue(figures: dict) -> None:
    assert figures["no_location_to_manual"] == 1.0, figures["no_location_to_manual"]
