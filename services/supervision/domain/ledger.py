"""The risk ledger (排查台账 / 五账工作法): an entry's table, its states and who may move it.

An entry (隐患 / 矛盾纠纷 / 风险点) is opened (建账), worked on (化解中), put up for closing with its
evidence (申请销账), and closed (销账) by a reviewer who is neither its creator nor its owner, or sent
back (退回) to be worked on again. Its one time limit (化解销账) comes from its risk level in the
ledger table (data/policy/ledger.json) and raises the alarms of the deadline table (warning before,
overdue, the escalation ladder after) as a case's limits do. Everything here is pure.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.auth import Principal
from dispatch_common.workdays import WorkingCalendar
from services.supervision.domain.policy import Timekeeper, _Span, to_ms

Status = Literal["opened", "in_progress", "close_requested", "closed"]
STATUS_LABELS = {"opened": "建账", "in_progress": "化解中", "close_requested": "申请销账", "closed": "销账"}
OPEN_STATES = ("opened", "in_progress", "close_requested")
DEADLINE_KIND = "ledger"
Action = Literal["progress", "request_close", "approve", "return"]


class LevelRule(_Span):
    """A risk level: its label and the time it gives (a span of the deadline table's kind)."""

    label: str


class LedgerPolicy(BaseModel):
    """data/policy/ledger.json."""

    model_config = ConfigDict(extra="forbid")

    version: str
    description: str | None = None
    deadline_label: str = "化解销账"
    escalate: bool = True
    kinds: dict[str, str] = Field(min_length=1)
    sources: dict[str, str] = Field(min_length=1)
    levels: dict[str, LevelRule] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path) -> "LedgerPolicy":
        """Read the ledger table."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def due(self, level: str, opened: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
        """When an entry of this level opened at `opened` must be closed."""
        return self.levels[level].due(opened, calendar, tz)


@dataclass(frozen=True)
class Transition:
    """What an action needs and does: the states it starts from, the state it leaves."""

    label: str
    from_states: tuple[str, ...]
    to: str
    reviewer: bool = False  # taken by a reviewer: not the creator, the requester or the owner unit


TRANSITIONS: dict[str, Transition] = {
    "progress": Transition("化解进展", ("opened", "in_progress"), "in_progress"),
    "request_close": Transition("申请销账", ("opened", "in_progress"), "close_requested"),
    "approve": Transition("销账", ("close_requested",), "closed", reviewer=True),
    "return": Transition("退回", ("close_requested",), "in_progress", reviewer=True),
}


class LedgerConflict(Exception):
    """The action does not fit the entry's state (409)."""


class NotEntitled(Exception):
    """The caller may not take this action on this entry (403)."""


def check(action: str, entry: dict[str, Any], caller: Principal) -> Transition:
    """The transition of `action`, or why it is refused."""
    rule = TRANSITIONS[action]
    if entry["status"] not in rule.from_states:
        raise LedgerConflict(
            f"entry {entry['entry_no']} is {entry['status']} ({STATUS_LABELS[entry['status']]}): "
            f"{action} needs {' or '.join(rule.from_states)}"
        )
    owner_unit = (entry.get("owner") or {}).get("unit", {}).get("code")
    if rule.reviewer:
        requester = (entry.get("close_request") or {}).get("by", {}).get("subject")
        if caller.subject in {entry["created_by"]["subject"], requester} or (
            caller.unit is not None and caller.unit == owner_unit
        ):
            raise NotEntitled(
                "the reviewer of a closing must be neither its creator, its requester nor its owner"
            )
        return rule
    if caller.county_wide or caller.unit == owner_unit or caller.subject == entry["created_by"]["subject"]:
        return rule
    raise NotEntitled("only the owner unit, the creator or county staff work on an entry")


def deadline(entry: dict[str, Any], policy: LedgerPolicy) -> dict[str, Any]:
    """The entry's one limit, in the shape of a case file's deadlines (DeadlinePolicy.alarms reads it)."""
    return {
        "kind": DEADLINE_KIND,
        "label": policy.deadline_label,
        "start_at": entry["opened_at"],
        "due_at": entry["due_at"],
        "met_at": entry.get("closed_at"),
        "extended_days": 0,
        "response_tier": None,
        "alarm": True,
        "escalate": policy.escalate,
        "basis": f"ledger table {policy.version}: level {entry['risk_level']}",
    }


def refresh(entry: dict[str, Any], policy: LedgerPolicy, keeper: Timekeeper) -> dict[str, Any]:
    """The entry's deadline and when the scanner looks at it next (None: nothing left to watch)."""
    line = deadline(entry, policy)
    fired = set(entry.get("alarms_fired") or [])
    nxt = keeper.policy.next_alarm([line], fired)
    return {"deadlines": [line], "next_alarm_ts": to_ms(nxt)}


def may_see(entry: dict[str, Any], caller: Principal) -> bool:
    """County staff see every entry; others the entries of their unit, their area, or their own."""
    place = entry.get("place") or {}
    areas = {v for k, v in place.items() if k in ("town", "village", "grid") and v}
    owner = (entry.get("owner") or {}).get("unit", {}).get("code")
    if entry["created_by"]["subject"] == caller.subject:
        return True
    return caller.may_see(unit_codes={owner} if owner else set(), area_codes=areas)


def list_filter(caller: Principal) -> dict[str, Any]:
    """The query part that keeps a list to what the caller may see (`may_see` as a filter)."""
    if caller.county_wide:
        return {}
    mine: list[dict[str, Any]] = [{"created_by.subject": caller.subject}]
    if caller.unit:
        mine.append({"owner.unit.code": caller.unit})
    if caller.area and (caller.scope is None or caller.scope.value == "area"):
        mine += [{f"place.{level}": caller.area} for level in ("town", "village", "grid")]
    return {"$or": mine}
