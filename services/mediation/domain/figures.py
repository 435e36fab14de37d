"""Figures of mediation (调解成功率, average duration) per organization or type, from the mediations
concluded in a period. Pure: the concluded mediations in, one row per group out.

- `concluded`: mediations with an outcome in the period (agreed, failed, or refused);
- `agreements`, `failures`, `refusals`: by outcome;
- `success_rate` (调解成功率) = agreements / (agreements + failures): a refusal is not counted,
  since no mediation took place (mediation is voluntary); null when nothing was mediated;
- `average_days`: mean days from opening to the outcome over agreements and failures;
- `fulfilled`, `unfulfilled`, `fulfilment_rate` = fulfilled / (fulfilled + unfulfilled) among the
  agreements checked so far.
"""

from collections import defaultdict
from typing import Any, Literal

GroupBy = Literal["organization", "type"]


def summarize(docs: list[dict[str, Any]], group_by: GroupBy) -> list[dict[str, Any]]:
    """One row per organization or type, sorted by its key."""
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"agreements": 0, "failures": 0, "refusals": 0, "fulfilled": 0, "unfulfilled": 0, "days": []}
    )
    names: dict[str, str] = {}
    for doc in docs:
        outcome = doc.get("outcome") or {}
        result = outcome.get("result")
        if result not in ("agreed", "failed", "refused"):
            continue
        org = doc["organization"]
        key = org["code"] if group_by == "organization" else doc["type"]
        names[key] = org["name"] if group_by == "organization" else doc["type"]
        row = groups[key]
        if result == "refused":
            row["refusals"] += 1
            continue
        row["agreements" if result == "agreed" else "failures"] += 1
        row["days"].append((doc["concluded_at"] - doc["opened_at"]).total_seconds() / 86_400)
        if doc.get("status") == "fulfilled":
            row["fulfilled"] += 1
        elif doc.get("status") == "unfulfilled":
            row["unfulfilled"] += 1
    rows = []
    for key in sorted(groups):
        g = groups[key]
        mediated = g["agreements"] + g["failures"]
        checked = g["fulfilled"] + g["unfulfilled"]
        row: dict[str, Any] = {group_by: key}
        if group_by == "organization":
            row["name"] = names[key]
        rows.append(
            row
            | {
                "concluded": mediated + g["refusals"],
                "agreements": g["agreements"],
                "failures": g["failures"],
                "refusals": g["refusals"],
                "success_rate": round(g["agreements"] / mediated, 4) if mediated else None,
                "average_days": round(sum(g["days"]) / len(g["days"]), 2) if g["days"] else None,
                "fulfilled": g["fulfilled"],
                "unfulfilled": g["unfulfilled"],
                "fulfilment_rate": round(g["fulfilled"] / checked, 4) if checked else None,
            }
        )
    return rows
