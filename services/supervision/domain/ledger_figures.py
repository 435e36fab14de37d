"""The joint meeting's figures (联席会议) of the risk ledger: entries by town, kind, level or age.

Pure: the entries (a projection) and the moment in, one row per group out. For each group: entries
opened, still open, closed, closed by their limit (按期销账), open past their limit, and entries that
later became cases (a case linked to the entry was received after the entry was opened: the
measure of 未诉先办 — the screening found the matter before anyone complained, and it came back as a
complaint anyway).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from services.supervision.domain.ledger import OPEN_STATES

GroupBy = Literal["town", "kind", "level", "age"]
AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("0-7d", 7),
    ("8-30d", 30),
    ("31-90d", 90),
    ("90d+", None),
)
"""An entry's age: days from its opening to its closing, or to now while it is open."""
PROJECTION = {
    "status": 1,
    "kind": 1,
    "risk_level": 1,
    "place": 1,  # whole: the embedded server drops a dotted projection (place.town)
    "opened_at": 1,
    "due_at": 1,
    "closed_at": 1,
    "became_case": 1,
}


def age_band(entry: dict[str, Any], now: datetime) -> str:
    """The age band of an entry (whole days, counted up to its closing or to now)."""
    days = ((entry.get("closed_at") or now) - entry["opened_at"]).days
    for name, upto in AGE_BANDS:
        if upto is None or days <= upto:
            return name
    raise AssertionError("the last band has no bound")


def _key(entry: dict[str, Any], group_by: str, now: datetime) -> str:
    if group_by == "age":
        return age_band(entry, now)
    if group_by == "town":
        return (entry.get("place") or {}).get("town") or "-"
    field = "risk_level" if group_by == "level" else group_by
    return str(entry.get(field) or "-")


def _empty(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "opened": 0,
        "open": 0,
        "closed": 0,
        "closed_on_time": 0,
        "overdue_open": 0,
        "became_case": 0,
    }


def figures(entries: Iterable[dict[str, Any]], group_by: str, now: datetime) -> dict[str, Any]:
    """Rows per group (sorted by key) and the county's total, with the on-time closing rate."""
    rows: dict[str, dict[str, Any]] = {}
    total = _empty("total")
    for entry in entries:
        row = rows.setdefault(_key(entry, group_by, now), _empty(_key(entry, group_by, now)))
        for target in (row, total):
            target["opened"] += 1
            if entry["status"] in OPEN_STATES:
                target["open"] += 1
                target["overdue_open"] += int(entry["due_at"] < now)
            else:
                target["closed"] += 1
                target["closed_on_time"] += int(entry["closed_at"] <= entry["due_at"])
            target["became_case"] += int(bool(entry.get("became_case")))
    out = [rows[k] for k in sorted(rows)]
    for row in [*out, total]:
        row["on_time_rate"] = round(row["closed_on_time"] / row["closed"], 4) if row["closed"] else None
    return {"group_by": group_by, "rows": out, "total": total}
