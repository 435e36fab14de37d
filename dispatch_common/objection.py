"""The one time limit two services enforce: a unit's objection to an assignment (退回, 异议).

Supervision shows it on the case file from the deadline table (`DEADLINE_POLICY_FILE`, kind
`objection`); routing accepts a lead unit's return within `return_working_days` of its county
package's rules. Both must say the same, or a unit would be told one limit and held to another, so
routing refuses a package that disagrees with the table in use (at start and on reload).
"""

import json
from pathlib import Path
from typing import Any


def objection_limit(policy_file: Path) -> dict[str, Any] | None:
    """The `objection` entry of the deadline table (`days`, `calendar`, ...), or None if it has none."""
    table = json.loads(Path(policy_file).read_text(encoding="utf-8"))
    return next((d for d in table.get("deadlines") or [] if d.get("kind") == "objection"), None)


def return_limit_problems(return_working_days: int, policy_file: Path) -> list[str]:
    """Why a package's return limit disagrees with the deadline table's objection limit (none: agrees)."""
    limit = objection_limit(policy_file)
    if limit is None:
        return []  # the table sets no objection limit: routing's is the only one
    if limit.get("calendar") == "working" and limit.get("days") == return_working_days:
        return []
    return [
        f"routing_rules.json: return_working_days is {return_working_days} but the objection limit of "
        f"{policy_file} is {limit.get('days')} {limit.get('calendar')} days; a unit would be told one and "
        "held to the other: make them equal"
    ]
