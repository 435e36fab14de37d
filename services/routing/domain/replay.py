"""What a what-if replay compares: two routing decisions of one stored request, and the load each
gives the units.

Pure functions over RouteDecision (no I/O), so the live path and the replay decide with the same
engine code (engine.RoutingEngine.decide) and only the comparison lives here.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.routing.domain.models import RouteDecision

COMPARED: tuple[str, ...] = (
    "town",
    "village",
    "lead_unit",
    "assisting_units",
    "category",
    "subcategory",
    "tier",
    "flags",
    "queue",
)
"""The parts of a decision a replay reports when they change, in this order."""


def outline(decision: RouteDecision | dict[str, Any]) -> dict[str, Any]:
    """The compared parts of a decision (a model, or one as stored), plain values only."""
    d = decision.model_dump(mode="json") if isinstance(decision, RouteDecision) else decision
    jurisdiction = d.get("jurisdiction") or {}
    category = d.get("category") or {}
    lead = d.get("lead_unit") or {}
    return {
        "town": jurisdiction.get("town"),
        "village": jurisdiction.get("village"),
        "lead_unit": lead.get("code"),
        "assisting_units": sorted(u["code"] for u in d.get("assisting_units") or []),
        "category": category.get("code"),
        "subcategory": category.get("subcode"),
        "tier": d.get("tier"),
        "flags": sorted(d.get("flags") or []),
        "queue": d.get("queue"),
    }


def changed_parts(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The compared parts (of two outlines) that differ, in COMPARED order."""
    return [name for name in COMPARED if before.get(name) != after.get(name)]


def side(decision: RouteDecision, *, withheld: bool = False) -> dict[str, Any]:
    """One side of a difference: the outline and the decision's explanation (withheld for a
    confidential report, whose explanation quotes its text)."""
    return {
        **outline(decision),
        "manual_reason": decision.manual_reason,
        "explanation": [] if withheld else list(decision.explanation),
    }


def lead(outlined: dict[str, Any]) -> str | None:
    """The unit a decision gives the case to: its lead unit when it is dispatched at once, none while
    it waits in the manual queue."""
    return outlined["lead_unit"] if outlined["queue"] == "auto" else None


@dataclass
class UnitLoad:
    """Cases each unit leads before and after, and the cases moved in and out between them."""

    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    moved_in: Counter[str] = field(default_factory=Counter)
    moved_out: Counter[str] = field(default_factory=Counter)

    def add(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Count one case, given its two outlines."""
        was, will = lead(before), lead(after)
        if was:
            self.before[was] += 1
        if will:
            self.after[will] += 1
        if was != will:
            if was:
                self.moved_out[was] += 1
            if will:
                self.moved_in[will] += 1

    def merge(self, other: "UnitLoad") -> None:
        """Add the cases another count counted (a chunk decided elsewhere)."""
        self.before.update(other.before)
        self.after.update(other.after)
        self.moved_in.update(other.moved_in)
        self.moved_out.update(other.moved_out)

    def rows(self) -> list[dict[str, Any]]:
        """One row per unit that leads any case on either side, by unit code."""
        codes = sorted(set(self.before) | set(self.after))
        return [
            {
                "unit": code,
                "before": self.before[code],
                "after": self.after[code],
                "moved_in": self.moved_in[code],
                "moved_out": self.moved_out[code],
            }
            for code in codes
        ]
