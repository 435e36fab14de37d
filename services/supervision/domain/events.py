"""Events supervision consumes (its own view of them) and emits."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class UnitRef(BaseModel):
    """A unit as events name it."""

    code: str
    name: str
    type: str
    role: str


class CaseReceivedView(BaseModel):
    """What supervision needs of dispatch.case.received."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    received_at: datetime
    channel: str | None = None
    confidential: bool = False
    text: str | None = None  # masked by intake; a placeholder when withheld
    withheld: bool = False


class CaseScreenedView(BaseModel):
    """What supervision needs of dispatch.case.screened."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    received_at: datetime
    channel: str | None = None
    outcome: str
    reason: str = ""
    nature: str | None = None
    confidential: bool = False
    links: dict | None = None
    text: str | None = None
    withheld: bool = False


class CaseRoutedView(BaseModel):
    """What supervision needs of dispatch.case.routed."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    jurisdiction: dict[str, str | None]
    category: dict[str, object]
    flags: list[str]
    lead_unit: UnitRef | None
    assisting_units: list[UnitRef]
    tier: str
    queue: str
    manual_reason: str | None = None
    confidential: bool = False
    revision: int = 1  # dispatch.case.rerouted carries 2, 3, ...; an older revision never wins
    incident: dict[str, Any] | None = (
        None  # the incident (同一事项) routing linked it to: attached, not assigned
    )


class Deadline(BaseModel):
    """A time limit on the case file."""

    kind: str
    label: str
    due_at: datetime
    basis: str


class CaseAssigned(BaseModel):
    """dispatch.case.assigned: the lead unit has the case, with its deadlines."""

    case_id: str
    case_no: str
    lead_unit: UnitRef
    assisting_units: list[UnitRef]
    deadlines: list[Deadline]
    assigned_at: datetime
    # the town and village of the case (no grid): intake shows an Open311 reader no finer place
    place: dict[str, str | None] | None = None
