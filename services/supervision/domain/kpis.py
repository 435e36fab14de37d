"""The figures the county is judged by, counted per month, unit, town, category and tier.

Every case file contributes a vector of counts to one row of the rollup (the month of its
assignment, its lead unit, town, category and routing tier). When a file changes, the difference
between its old and new vectors is added to the rows, so a figure reads one row per (month, unit, town,
category, tier) that has cases, never the case files: about 30,000 rows for a year of a county with a
million cases (bench/supervision_queries.py). Pure: the I/O is in the repository.

- 响应率 (response rate): signed within the sign limit / assigned
- 按期办结率 (on-time reply rate): replied within the handling limit / assigned
- 解决率 (resolution rate): replies with result "resolved" / replied
- 满意率 (satisfaction rate): 满意 or 基本满意 / rated
- 化解率 (dispute resolution rate): disputes resolved / disputes. A dispute is a case routing flagged
  `mediation` or one a mediation was opened for; it is resolved by a reply "resolved" or by a
  mediation that concluded with an agreement (调解协议)
- repeat-petition rate: repeats (intake linked it to an earlier case) / assigned
- average handling time: assignment to reply, in hours
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.supervision.domain.lifecycle import ASSIGNED

COUNTERS = (
    "assigned",
    "signed",
    "signed_in_time",
    "replied",
    "replied_in_time",
    "resolved",
    "rated",
    "satisfied",
    "disputes",
    "disputes_resolved",
    "repeats",
    "handling_ms",
)
GROUPS = ("unit", "town", "category", "tier", "period")
CONFIDENTIAL_ROW = "confidential"
"""The mark of a row of confidential reports (检举控告), left out of the figures of those who may not
read them (dispatch_common/auth.may_see)."""
ASSIGNED_STATES = ASSIGNED


def _deadline(doc: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((d for d in doc.get("deadlines") or [] if d["kind"] == kind), None)


def _within(moment: datetime | None, deadline: dict[str, Any] | None) -> bool:
    return moment is not None and deadline is not None and moment <= deadline["due_at"]


def row_key(doc: dict[str, Any], tz: ZoneInfo) -> dict[str, str] | None:
    """The rollup row a case file counts in; None before it is assigned to a unit."""
    assigned_at = doc.get("first_assigned_at") or doc.get("assigned_at")
    lead = doc.get("lead_unit")
    if doc.get("status") not in ASSIGNED_STATES or assigned_at is None or not lead:
        return None
    jurisdiction = doc.get("jurisdiction") or {}
    category = doc.get("category") or {}
    key = {
        "period": assigned_at.astimezone(tz).strftime("%Y-%m"),
        "unit": lead["code"],
        "town": jurisdiction.get("town") or "-",
        "category": category.get("code") or "-",
        "tier": doc.get("tier") or "-",
    }
    if doc.get("confidential"):  # counted in rows of their own, which only their readers add up
        key["confidential"] = CONFIDENTIAL_ROW
    return key


def counts(doc: dict[str, Any]) -> dict[str, int]:
    """The case file's contribution to its row."""
    signed_at, replied_at = doc.get("signed_at"), doc.get("replied_at")
    reply = doc.get("reply") or {}
    rating = (doc.get("rating") or {}).get("rating")
    mediation = doc.get("mediation") or {}
    dispute = "mediation" in (doc.get("flags") or []) or bool(mediation)
    replied = replied_at is not None
    resolved = replied and reply.get("result") == "resolved"
    mediated = mediation.get("result") == "agreed"
    assigned_at = doc.get("assigned_at")
    return {
        "assigned": 1,
        "signed": int(signed_at is not None),
        "signed_in_time": int(_within(signed_at, _deadline(doc, "sign"))),
        "replied": int(replied),
        "replied_in_time": int(_within(replied_at, _deadline(doc, "handling"))),
        "resolved": int(resolved),
        "rated": int(rating is not None),
        "satisfied": int(rating in ("satisfied", "basically_satisfied")),
        "disputes": int(dispute),
        "disputes_resolved": int(dispute and (resolved or mediated)),
        "repeats": int(bool(doc.get("repeat"))),
        "handling_ms": int((replied_at - assigned_at).total_seconds() * 1000)
        if replied and assigned_at is not None and replied_at >= assigned_at
        else 0,
    }


def row_id(key: dict[str, str]) -> str:
    """The rollup document id of a row."""
    return "|".join(
        key[g] for g in ("period", "unit", "town", "category", "tier", "confidential") if g in key
    )


def deltas(
    before: dict[str, Any] | None, after: dict[str, Any], tz: ZoneInfo
) -> list[tuple[dict[str, str], dict[str, int]]]:
    """What a change of a case file adds to (or takes from) each rollup row."""
    old_key = row_key(before, tz) if before else None
    new_key = row_key(after, tz)
    old = counts(before) if old_key and before else None
    new = counts(after) if new_key else None
    if old_key and new_key and row_id(old_key) == row_id(new_key):
        assert old is not None and new is not None
        diff = {k: new[k] - old[k] for k in COUNTERS if new[k] != old[k]}
        return [(new_key, diff)] if diff else []
    out = []
    if old_key and old:
        out.append((old_key, {k: -v for k, v in old.items() if v}))
    if new_key and new:
        out.append((new_key, {k: v for k, v in new.items() if v}))
    return out


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def figures(total: dict[str, int]) -> dict[str, Any]:
    """The rates of summed counters."""
    return {
        "assigned": total["assigned"],
        "response_rate": _rate(total["signed_in_time"], total["assigned"]),
        "on_time_reply_rate": _rate(total["replied_in_time"], total["assigned"]),
        "resolution_rate": _rate(total["resolved"], total["replied"]),
        "satisfaction_rate": _rate(total["satisfied"], total["rated"]),
        "dispute_resolution_rate": _rate(total["disputes_resolved"], total["disputes"]),
        "repeat_rate": _rate(total["repeats"], total["assigned"]),
        "average_handling_hours": round(total["handling_ms"] / total["replied"] / 3_600_000, 2)
        if total["replied"]
        else None,
        "counts": {k: total[k] for k in COUNTERS if k != "handling_ms"},
    }


def summarize(rows: Iterable[dict[str, Any]], group_by: str) -> list[dict[str, Any]]:
    """Rollup rows summed per group, with their rates, in group order."""
    groups: dict[str, dict[str, int]] = {}
    for row in rows:
        total = groups.setdefault(row[group_by], dict.fromkeys(COUNTERS, 0))
        for k in COUNTERS:
            total[k] += int(row.get(k) or 0)
    return [{group_by: key, **figures(total)} for key, total in sorted(groups.items())]
