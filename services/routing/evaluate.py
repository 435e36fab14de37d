"""`make eval-routing`: how well routing decides on labelled cases (the county's sample by default).

A labelled case is one JSON object per line, as in the county package's `sample_cases.jsonl`:
`channel`, `text`, optional `address`, `lon`/`lat`, `people_count`, and `expect` with `category`,
`subcategory`, `town`, `village` and `flags` (the routing flags, plus `manual` for a case without a
usable location). Prints the figures as a table and, with `--json`, as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch_common.paths import DEFAULT_COUNTY_DIR
from services.routing.domain.models import FLAG_NAMES, RouteDecision, RouteRequest
from services.routing.engine import RoutingEngine

NO_LOCATION = "manual"
"""The label of a case without a usable location: it must go to the manual queue, with no town."""


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Labelled cases from a JSON-lines file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def request_of(case: dict[str, Any]) -> RouteRequest:
    """The routing question of a labelled case."""
    fields = set(RouteRequest.model_fields)
    return RouteRequest(**{k: v for k, v in case.items() if k in fields})


@dataclass
class _Ratio:
    hit: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.hit += bool(ok)
        self.total += 1

    @property
    def value(self) -> float | None:
        return round(self.hit / self.total, 4) if self.total else None


@dataclass
class Evaluation:
    """Figures over a set of labelled cases, and the cases that missed."""

    cases: int = 0
    category: _Ratio = field(default_factory=_Ratio)
    subcategory: _Ratio = field(default_factory=_Ratio)
    town: _Ratio = field(default_factory=_Ratio)
    village: _Ratio = field(default_factory=_Ratio)
    no_location_manual: _Ratio = field(default_factory=_Ratio)
    unplaced: _Ratio = field(default_factory=_Ratio)
    manual_tp: int = 0
    manual_fp: int = 0
    manual_fn: int = 0
    flag_tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAG_NAMES, 0))
    flag_fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAG_NAMES, 0))
    flag_fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAG_NAMES, 0))
    misses: list[str] = field(default_factory=list)

    def add(self, case: dict[str, Any], decision: RouteDecision) -> None:
        """Score one decision against its labels."""
        expect = case.get("expect") or {}
        label = case.get("id", f"#{self.cases + 1}")
        self.cases += 1
        notes: list[str] = []
        if "category" in expect:
            self.category.add(decision.category.code == expect["category"])
            if decision.category.code != expect["category"]:
                notes.append(f"category {decision.category.code} != {expect['category']}")
        if expect.get("subcategory"):
            self.subcategory.add(decision.category.subcode == expect["subcategory"])
        expected_flags = set(expect.get("flags") or [])
        if NO_LOCATION in expected_flags:
            ok = decision.queue == "manual" and decision.jurisdiction.town is None
            self.no_location_manual.add(ok)
            if not ok:
                notes.append(f"no-location case placed in {decision.jurisdiction.town} ({decision.queue})")
        elif expect.get("town") is not None:
            self.unplaced.add(decision.jurisdiction.town is None)
            self.town.add(decision.jurisdiction.town == expect["town"])
            if decision.jurisdiction.town != expect["town"]:
                notes.append(f"town {decision.jurisdiction.town} != {expect['town']}")
            if expect.get("village") is not None:
                self.village.add(decision.jurisdiction.village == expect["village"])
                if decision.jurisdiction.village != expect["village"]:
                    notes.append(f"village {decision.jurisdiction.village} != {expect['village']}")
        to_manual = decision.queue == "manual"
        self.manual_tp += to_manual and NO_LOCATION in expected_flags
        self.manual_fp += to_manual and NO_LOCATION not in expected_flags
        self.manual_fn += not to_manual and NO_LOCATION in expected_flags
        got = set(decision.flags)
        for flag in FLAG_NAMES:
            if flag in got and flag in expected_flags:
                self.flag_tp[flag] += 1
            elif flag in got:
                self.flag_fp[flag] += 1
                notes.append(f"extra flag {flag}")
            elif flag in expected_flags:
                self.flag_fn[flag] += 1
                notes.append(f"missed flag {flag}")
        if notes:
            self.misses.append(f"{label}: " + "; ".join(notes))

    def flag_figures(self) -> dict[str, dict[str, float | int | None]]:
        """Precision and recall per flag (None where there is nothing to divide by)."""
        out: dict[str, dict[str, float | int | None]] = {}
        for flag in FLAG_NAMES:
            tp, fp, fn = self.flag_tp[flag], self.flag_fp[flag], self.flag_fn[flag]
            out[flag] = {
                "expected": tp + fn,
                "raised": tp + fp,
                "precision": round(tp / (tp + fp), 4) if tp + fp else None,
                "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            }
        return out

    def manual_figures(self) -> dict[str, float | int | None]:
        """The manual queue against the cases labelled `manual`: how many went there, precision and
        recall (a case sent there for an uncertain category counts against precision too)."""
        tp, fp, fn = self.manual_tp, self.manual_fp, self.manual_fn
        return {
            "expected": tp + fn,
            "sent": tp + fp,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        }

    def flag_recall(self) -> float | None:
        """Recall over every expected flag together."""
        tp, fn = sum(self.flag_tp.values()), sum(self.flag_fn.values())
        return round(tp / (tp + fn), 4) if tp + fn else None

    def figures(self) -> dict[str, Any]:
        """Everything as plain JSON."""
        return {
            "cases": self.cases,
            "category_accuracy": self.category.value,
            "subcategory_accuracy": self.subcategory.value,
            "town_accuracy": self.town.value,
            "village_accuracy": self.village.value,
            "no_location_to_manual": self.no_location_manual.value,
            "placeable_unplaced": self.unplaced.value,
            "manual_queue": self.manual_figures(),
            "flag_recall": self.flag_recall(),
            "flags": self.flag_figures(),
            "misses": self.misses,
        }


def evaluate(engine: RoutingEngine, cases: Iterable[dict[str, Any]]) -> Evaluation:
    """Decide every case with the engine and score it."""
    result = Evaluation()
    for case in cases:
        result.add(case, engine.decide(request_of(case)))
    return result


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def report(figures: dict[str, Any]) -> str:
    """The figures as a table for people."""
    mq = figures["manual_queue"]
    lines = [
        f"labelled cases              {figures['cases']}",
        f"first-level category        {_pct(figures['category_accuracy'])}",
        f"second-level category       {_pct(figures['subcategory_accuracy'])}",
        f"jurisdiction: town          {_pct(figures['town_accuracy'])}",
        f"jurisdiction: village       {_pct(figures['village_accuracy'])}",
        f"no location -> manual queue {_pct(figures['no_location_to_manual'])}",
        f"placeable but unplaced      {_pct(figures['placeable_unplaced'])}",
        f"manual queue: sent {mq['sent']}, labelled {mq['expected']}, precision {_pct(mq['precision'])}, "
        f"recall {_pct(mq['recall'])}",
        f"flag recall (all flags)     {_pct(figures['flag_recall'])}",
        "",
        f"{'flag':<16}{'expected':>9}{'raised':>8}{'precision':>11}{'recall':>8}",
    ]
    for flag, f in figures["flags"].items():
        lines.append(
            f"{flag:<16}{f['expected']:>9}{f['raised']:>8}{_pct(f['precision']):>11}{_pct(f['recall']):>8}"
        )
    if figures["misses"]:
        lines += ["", "misses:", *(f"  {m}" for m in figures["misses"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Evaluate a county package on labelled cases."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--county-dir", type=Path, default=DEFAULT_COUNTY_DIR)
    parser.add_argument(
        "--cases", type=Path, help="labelled cases (default: the package's sample_cases.jsonl)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    engine = RoutingEngine.from_dir(args.county_dir)
    cases = read_cases(args.cases or args.county_dir / "sample_cases.jsonl")
    figures = evaluate(engine, cases).figures()
    print(json.dumps(figures, ensure_ascii=False) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
