"""Deadline policy tables: which time limits a case gets, counted from which moment."""

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class DeadlineRule(BaseModel):
    """One time limit of the policy table."""

    kind: str
    label: str
    anchor: Literal["received", "assigned"] = Field(alias="from")
    days: int = Field(ge=0)
    calendar: Literal["natural"] = "natural"  # working days arrive with the holiday calendar
    basis: str


class DeadlinePolicy(BaseModel):
    """A versioned table of time limits."""

    version: str
    deadlines: list[DeadlineRule]

    @classmethod
    def load(cls, path: Path) -> "DeadlinePolicy":
        """Read a policy table from JSON."""
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def deadlines_for(self, anchors: dict[str, datetime]) -> list[dict[str, object]]:
        """Every deadline whose starting moment is known, with its due time."""
        out: list[dict[str, object]] = []
        for rule in self.deadlines:
            start = anchors.get(rule.anchor)
            if start is None:
                continue
            out.append(
                {
                    "kind": rule.kind,
                    "label": rule.label,
                    "due_at": start + timedelta(days=rule.days),
                    "basis": rule.basis,
                }
            )
        return out
