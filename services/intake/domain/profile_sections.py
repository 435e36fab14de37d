"""The profile's sections other services feed by events: the proxy agents (代办) who carry or carried
each of the petitioner's cases, and the risk-ledger entries (排查台账) linked to them. Pure: the
records are those adapters/profile_sections.py keeps, one per event.

An agent record says who took the case up, at which tier, since when and how: `intake` (the agent
filed it), `dispatcher` (a dispatcher gave it), `petitioner_request`, or `escalation` (the case went
up a tier). A case's last agent is its current one. A ledger entry is told by its opening (kind,
level, town, the cases linked then) and its steps (status, a case linked later, the closing); it is
shown as its steps left it.
"""

from datetime import datetime
from typing import Any

ShownCases = list[tuple[dict[str, Any], list[dict[str, Any]]]]
"""The cases a profile shows its caller, each with its records in `profile_outcomes`."""

AGENT_KINDS = ("represented", "agent_escalated")
LEDGER_KINDS = ("ledger_opened", "ledger_updated", "ledger_closed")
LINK = "ledger_link"
"""The record of a case linked to an entry (by its opening or a `link_case` step)."""
PARTY = "ledger_party"
"""The record of a key (keyed hash of a phone or ID number) of one of an entry's parties."""


def agent_lines(records: list[dict[str, Any]], case_nos: dict[str, str]) -> list[dict[str, Any]]:
    """Each case's agents in the order they took it up, the last one marked current; newest first."""
    by_case: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r["at"]):
        if record.get("kind") in AGENT_KINDS:
            by_case.setdefault(record["case_id"], []).append(record)
    lines: list[dict[str, Any]] = []
    for case_id, held in by_case.items():
        for i, record in enumerate(held):
            lines.append(
                {
                    "case_id": case_id,
                    "case_no": case_nos.get(case_id),
                    "agent_id": record["agent_id"],
                    "name": record["agent_name"],
                    "tier": record["tier"],
                    "since": record["at"],
                    "until": held[i + 1]["at"] if i + 1 < len(held) else None,
                    "how": record["how"],
                    "current": i + 1 == len(held),
                }
            )
    return sorted(lines, key=lambda line: line["since"], reverse=True)


def entry_line(
    records: list[dict[str, Any]], case_ids: set[str], *, by_party: bool = False
) -> dict[str, Any] | None:
    """One ledger entry as its events left it, with the petitioner's cases it is linked to and how it
    joins the profile: `case` (linked to one of them), `party` (the petitioner is one of its parties:
    `by_party`), or both (None before its opening arrived: an entry is shown once its kind and level
    are known)."""
    opened = next((r for r in records if r["kind"] == "ledger_opened"), None)
    if opened is None:
        return None
    linked: list[str] = []
    status = opened["status"]
    closed_at: datetime | None = None
    on_time: bool | None = None
    for record in sorted(records, key=lambda r: r["at"]):
        if record["kind"] == PARTY:
            continue
        if record["kind"] == LINK:
            if record["case_id"] in case_ids and record["case_id"] not in linked:
                linked.append(record["case_id"])
            continue
        if record["kind"] != "ledger_opened":
            status = record["status"]
        if record["kind"] == "ledger_closed":
            closed_at, on_time = record["at"], record.get("closed_on_time")
    return {
        "entry_id": opened["entry_id"],
        "entry_no": opened["entry_no"],
        "kind": opened["risk_kind"],
        "level": opened["risk_level"],
        "status": status,
        "town": opened.get("town"),
        "owner_unit": opened.get("owner_unit"),
        "opened_at": opened["at"],
        "closed_at": closed_at,
        "closed_on_time": on_time,
        "case_ids": linked,
        "joined_by": [how for how, yes in (("case", bool(linked)), ("party", by_party)) if yes],
    }
