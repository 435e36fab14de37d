"""What routing's HTTP API answers: the shapes in OpenAPI, field names as the frontends know them."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paging import PageOf
from services.routing.domain.events import Actor
from services.routing.domain.incidents import IncidentLink
from services.routing.domain.models import CategoryChoice, Jurisdiction, Queue, UnitRef
from services.routing.entrypoints.replay_schemas import Approval


class RouteReturn(BaseModel):
    """A unit's return (退单) of the case."""

    unit: str
    reason: str
    at: datetime
    revision: int = Field(description="the revision the unit returned")


class RouteCorrection(BaseModel):
    """A person's change of the route: an override, a return, a dispute or the conference's decision."""

    revision: int
    kind: str = Field(description="`override`, `return`, `dispute`, `conference` or `detach`")
    by: Actor
    reason: str
    at: datetime
    previous_lead_unit: str | None
    lead_unit: str | None


class RouteDecisionView(BaseModel):
    """Routing's decision with its explanation (shared by a stored route and a preview)."""

    jurisdiction: Jurisdiction
    category: CategoryChoice
    flags: list[str]
    lead_unit: UnitRef | None = Field(
        description="the lead unit; on a `manual` route, routing's suggestion, assigned to nobody"
    )
    assisting_units: list[UnitRef]
    tier: str
    queue: Queue = Field(description="`auto`: assigned at once; `manual`: a dispatcher places it")
    explanation: list[str] = Field(description="why, line by line, in the order routing decided")
    manual_reason: str | None
    confidential: bool = False
    package_version: str


class Route(RouteDecisionView):
    """A stored route: the current decision, its revision, returns and people's corrections. The
    response's `ETag` is `version`, the route document's version (every change, a dispute included)."""

    case_id: str
    case_no: str
    decided_at: datetime
    revision: int = Field(description="the decision's number: 1 for routing's, +1 per person's change")
    version: int = Field(description="the route's version: the ETag, for If-Match on its changes")
    status: str = Field(description="`routed`, or `disputed` while the joint conference decides")
    excluded_units: list[str]
    returns: list[RouteReturn]
    corrections: list[RouteCorrection]
    incident: IncidentLink | None = Field(
        None, description="the incident (同一事项) the case is attached to, and why; null: routed on its own"
    )


class DisputedRoute(Route):
    """A route waiting for the joint conference (争议管辖)."""

    disputed_at: datetime | None
    dispute_reason: str | None


class ManualRoute(Route):
    """A case routing sent to people (人工派单): waiting for a dispatcher since `decided_at`, with
    routing's explanation and `manual_reason`, and its suggested lead unit (if any) in `lead_unit`."""


DisputePage = PageOf[DisputedRoute]
ManualQueuePage = PageOf[ManualRoute]


class CountyPackage(BaseModel):
    """The county package in use."""

    county: str
    package_version: str = Field(description="the content hash")
    path: str
    loaded_at: datetime
    areas: int
    units: int
    gazetteer: int
    categories: int
    approval: Approval | None = Field(
        None, description="the replay report the package was activated on; null: reloaded without one"
    )


class CountyReload(CountyPackage):
    """The package after a reload, and each replica's answer."""

    changed: bool
    replicas: list[dict[str, Any]] = Field(description="each replica's package after the reload")


class ClassifierState(BaseModel):
    """The learned classifier: the labelled examples and the model trained from them."""

    examples: int
    min_examples: int
    min_probability: float
    trained: bool
    trained_at: datetime | None
    trained_on: int
    categories: list[str]


class DetachBody(BaseModel):
    """Why a case linked to an incident is another matter: it is then routed on its own."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
