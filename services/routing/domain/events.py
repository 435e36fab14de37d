"""Routing's view of the events it consumes, and the event it emits."""

from pydantic import BaseModel, ConfigDict

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

    @classmethod
    def of(cls, *, case_id: str, case_no: str, decision: RouteDecision, package_version: str) -> "CaseRouted":
        """The event for a decision."""
        return cls(
            case_id=case_id,
            case_no=case_no,
            package_version=package_version,
            **decision.model_dump(include=set(RouteDecision.model_fields)),
        )
