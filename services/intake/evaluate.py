"""`make eval-screening`: how well screening tells confidential reports (检举控告) from other cases.

Reads labelled cases (JSON lines: `channel`, `text`, and `expect.confidential`; other fields, as in the
routing sets, are ignored) and screens each with the rules in force. Prints how many reports it
found (recall), how many of those it marked were reports (precision), and every miss; `--json`
prints the same as one JSON object. A case without `expect.confidential` is not counted, unless
`--report-subcategory` names the category whose cases are reports (the routing sets label
`expect.subcategory`: `--report-subcategory 1601` reads those sets as labelled for screening too).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dispatch_common.paths import DATA_DIR
from services.intake.domain.screening import Screener, ScreeningInput, ScreeningRules

RULES = DATA_DIR / "intake" / "screening_rules.json"
KNOWLEDGE_BASE = DATA_DIR / "intake" / "knowledge_base.json"


def _ratio(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def evaluate(
    screener: Screener, cases: list[dict[str, Any]], report_subcategory: str | None = None
) -> dict[str, Any]:
    """Screen every labelled case and count reports found, missed and marked wrongly."""
    tp = fp = fn = tn = 0
    misses: list[str] = []
    for i, case in enumerate(cases):
        expect = case.get("expect") or {}
        expected = expect.get("confidential")
        if expected is None and report_subcategory:
            expected = expect.get("subcategory") == report_subcategory
        if expected is None:
            continue
        result = screener.screen(ScreeningInput(channel=case["channel"], text=case["text"]))
        got = result.confidential
        label = case.get("id", f"#{i + 1}")
        if got and expected:
            tp += 1
        elif got:
            fp += 1
            misses.append(f"{label}: marked a report ({', '.join(result.evidence) or result.nature})")
        elif expected:
            fn += 1
            misses.append(f"{label}: report missed (nature {result.nature})")
        else:
            tn += 1
    return {
        "cases": tp + fp + fn + tn,
        "reports": tp + fn,
        "recall": _ratio(tp, tp + fn),
        "precision": _ratio(tp, tp + fp),
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "false_reports": fp,
        "missed_reports": fn,
        "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    """Evaluate the screening rules on labelled cases."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, required=True, help="labelled cases (JSON lines)")
    parser.add_argument("--rules", type=Path, default=RULES)
    parser.add_argument("--knowledge-base", type=Path, default=KNOWLEDGE_BASE)
    parser.add_argument("--report-subcategory", help="label cases of this subcategory as reports")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    screener = Screener(ScreeningRules.from_file(args.rules, args.knowledge_base))
    lines = args.cases.read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    figures = evaluate(screener, cases, args.report_subcategory)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    for key in ("cases", "reports", "recall", "precision", "accuracy", "false_reports", "missed_reports"):
        print(f"{key:<16}{figures[key]}")
    for miss in figures["misses"]:
        print("  miss:", miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
