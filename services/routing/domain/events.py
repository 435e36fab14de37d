"""Routing's view of the events it consumes, and the events it emits."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain.models import CategoryChoice, Jurisdiction, RouteDecision, UnitRef


class CaseScreenedView(BaseModel):
    """What routing needs of dispatch.case.screened: routing places only accepted cases."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    case_no: str
    channel: str
    text: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    people_count: int | None = None
    outcome: str
    confidential: bool = False
    links: dict | None = None
    category_hint: str | None = None  # the category the submitter chose (an Open311 service_code)

    @property
    def repeat(self) -> bool:
        """Intake linked the case to an earlier similar case of the same petitioner."""
        return bool((self.links or {}).get("repeat_of"))

    @property
    def earlier_cases(self) -> int:
        """The petitioner's earlier cases within intake's repeat window."""
        return int((self.links or {}).get("earlier_cases") or 0)


class CaseRouted(BaseModel):
    """dispatch.case.routed: the decision, with its explanation and the package it was made with."""

    case_id: str
    case_no: str
    jurisdiction: Jurisdiction
    category: CategoryChoice
    flags: list[str]
    lead_unit: UnitRef | None
    assisting_units: list[UnitRef]
    tier: str
    queue: str
    manual_reason: str | None
    explanation: list[str]
    package_version: str
    confidential: bool = False
    incident: dict | None = None  # the incident it joined (同一事项): lead case, place, similarity, reason

    @classmethod
    def of(cls, *, case_id: str, case_no: str, decision: RouteDecision, package_version: str) -> "CaseRouted":
        """The event for a decision."""
        return cls(
            case_id=case_id,
            case_no=case_no,
            package_version=package_version,
            **decision.model_dump(include=set(RouteDecision.model_fields)),
        )


class Actor(BaseModel):
    """Who made a correction."""

    subject: str
    role: str
    unit: str | None = None


class CaseRerouted(CaseRouted):
    """dispatch.case.rerouted: the whole new decision and why it changed."""

    revision: int = Field(ge=2)
    cause: Literal["override", "return", "conference", "detach"]
    reason: str
    decided_by: Actor
    previous_lead_unit: UnitRef | None


class Return(BaseModel):
    """A unit's return of a case (退单)."""

    unit: str
    reason: str
    at: datetime


class CaseRouteDisputed(BaseModel):
    """dispatch.case.route_disputed: the case waits for the joint conference."""

    case_id: str
    case_no: str
    revision: int
    reason: str
    raised_by: Actor
    lead_unit: UnitRef | None
    returns: list[Return]
