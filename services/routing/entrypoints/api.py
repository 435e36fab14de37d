"""Routing's HTTP API: decisions, a preview that stores nothing, corrections, disputes, the package."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch_common.auth import Principal, Role, authenticate, require_roles
from services.routing import handlers
from services.routing.bootstrap import Routing
from services.routing.domain.county import CountyPackageError
from services.routing.domain.models import RouteRequest

router = APIRouter(prefix="/v1", tags=["routes"])
admin = APIRouter(prefix="/v1/admin", tags=["administration"])
READERS = (
    Role.DISPATCHER,
    Role.RECEPTION_CLERK,
    Role.SUPERVISOR,
    Role.COUNTY_LEADER,
    Role.AUDITOR,
    Role.ADMIN,
)
UNIT_ROLES = (Role.UNIT_HANDLER, Role.UNIT_LEADER)
CONFERENCE_READERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.COUNTY_LEADER, Role.AUDITOR, Role.ADMIN)


async def _routing(request: Request) -> Routing:
    return request.app.state.routing


CurrentUser = Annotated[Principal, Depends(authenticate)]
RoutingDeps = Annotated[Routing, Depends(_routing)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s$]+$")]  # no operators, no blanks


class PreviewRequest(BaseModel):
    """A request to route without storing anything."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=5000)
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    people_count: int | None = Field(None, ge=1, le=100_000)
    repeat: bool = False
    earlier_cases: int = Field(0, ge=0, le=10_000)

    @model_validator(mode="after")
    def _both_coordinates(self) -> "PreviewRequest":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must be given together")
        return self


class CorrectionBody(BaseModel):
    """A person's correction of a route: what is set replaces routing's decision; a reason is required."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=1000)
    lead_unit: Code | None = None
    assisting_units: list[Code] | None = Field(None, max_length=20)
    category: Code | None = None
    subcategory: Code | None = None
    tier: Code | None = None
    area: Code | None = Field(None, description="a town, village or grid code: the jurisdiction")

    def correction(self) -> handlers.Correction:
        return handlers.Correction(**self.model_dump())


class ConferenceDecision(CorrectionBody):
    """The joint conference's decision: it names the lead unit."""

    lead_unit: Code


class ReturnBody(BaseModel):
    """A unit's return of a case (退单), with its reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=1000)


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored route as the API shows it."""
    return {
        "case_id": doc["_id"],
        "case_no": doc["case_no"],
        **doc["decision"],
        "package_version": doc["package_version"],
        "decided_at": doc["decided_at"],
        "revision": doc.get("revision", 1),
        "status": doc.get("status", "routed"),
        "excluded_units": doc.get("excluded_units", []),
        "returns": doc.get("returns", []),
        "corrections": doc.get("corrections", []),
    }


@contextmanager
def _answers() -> Iterator[None]:
    """Turn the handlers' refusals into HTTP answers."""
    try:
        yield
    except handlers.RouteNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except handlers.NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except handlers.RouteConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except handlers.InvalidCorrection as exc:
        raise RequestValidationError(
            [
                {"loc": ("body", *field.split(".")), "msg": msg, "type": "value_error"}
                for field, msg in exc.errors
            ]
        ) from exc


@router.get(
    "/routes/{case_id}", summary="The routing decision of a case, with its explanation and corrections"
)
async def get_route(case_id: str, user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """A stored decision; a unit sees the routes of the cases it leads or assists on."""
    require_roles(user, *READERS, *UNIT_ROLES)
    doc = await routing.routes.find_one({"_id": case_id}, {"outbox": 0})
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for case {case_id}")
    if not user.county_wide:
        decision = doc["decision"]
        if decision.get("queue") != "auto":  # a manual route's proposed unit is not assigned anything
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for case {case_id}")
        units = {
            u["code"] for u in [decision.get("lead_unit") or {}, *decision.get("assisting_units", [])] if u
        }
        if user.unit not in units:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for case {case_id}")
    return _view(doc)


@router.post("/routes/preview", summary="The decision routing would make, without storing anything")
async def preview_route(body: PreviewRequest, user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Dry-run the routing decision."""
    require_roles(user, *READERS)
    engine = routing.engine
    decision = engine.decide(RouteRequest(**body.model_dump()))
    return {**decision.model_dump(mode="json"), "package_version": engine.version}


async def _correct(
    apply: Callable[..., Awaitable[dict[str, Any]]],
    case_id: str,
    correction: handlers.Correction,
    user: Principal,
    routing: Routing,
) -> dict[str, Any]:
    """A person's correction of the route (override or the conference's decision): applied, published,
    and counted towards the classifier's next training."""
    with _answers():
        doc = await apply(
            case_id,
            correction,
            caller=user,
            routes=routing.routes,
            engine=routing.engine,
            clock=routing.clock,
        )
    routing.runtime.nudge()
    await routing.train_if_due()
    return _view(doc)


@router.post("/routes/{case_id}/override", summary="A dispatcher's override (改派), or placing a manual case")
async def override_route(
    case_id: str, body: CorrectionBody, user: CurrentUser, routing: RoutingDeps
) -> dict[str, Any]:
    """Set the lead unit, assisting units, category, tier or jurisdiction, with a reason."""
    require_roles(user, *handlers.OVERRIDERS)
    return await _correct(handlers.override_route, case_id, body.correction(), user, routing)


@router.post("/routes/{case_id}/return", summary="A unit returns a case (退单) within the time limit")
async def return_route(
    case_id: str, body: ReturnBody, user: CurrentUser, routing: RoutingDeps
) -> dict[str, Any]:
    """The lead unit returns the case and routing decides again without it; an assisting unit's
    refusal, a second return, or no other competent unit sends the case to the joint conference."""
    require_roles(user, *handlers.RETURNERS)
    with _answers():
        doc = await handlers.return_route(
            case_id,
            body.reason,
            caller=user,
            routes=routing.routes,
            engine=routing.engine,
            clock=routing.clock,
            policy=routing.return_policy,
        )
    routing.runtime.nudge()
    return _view(doc)


@router.get("/disputes", summary="The joint conference queue (争议管辖): disputed routes, oldest first")
async def list_disputes(
    user: CurrentUser,
    routing: RoutingDeps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """Disputed routes waiting for a decision."""
    require_roles(user, *CONFERENCE_READERS)
    cursor = routing.routes.find({"status": "disputed"}, {"outbox": 0}).sort([("disputed_at", 1)])
    docs = [doc async for doc in cursor.skip(offset).limit(limit)]
    return {
        "items": [
            {**_view(doc), "disputed_at": doc.get("disputed_at"), "dispute_reason": doc.get("dispute_reason")}
            for doc in docs
        ],
        "limit": limit,
        "offset": offset,
    }


@router.post("/disputes/{case_id}/decision", summary="The joint conference decides a disputed route")
async def decide_dispute(
    case_id: str, body: ConferenceDecision, user: CurrentUser, routing: RoutingDeps
) -> dict[str, Any]:
    """Name the lead unit (and, if needed, assisting units, category, tier, jurisdiction) for good."""
    require_roles(user, *handlers.CONFERENCE)
    return await _correct(handlers.decide_dispute, case_id, body.correction(), user, routing)


@admin.get("/county", summary="The county package in use")
async def county_package(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Its version (content hash), size and when it was loaded."""
    require_roles(user, Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR)
    return routing.package_summary()


@admin.post("/county/reload", summary="Load the county package again, without a restart")
async def reload_county(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Validate the package on disk and use it; a package with problems is refused with every problem
    listed, and the service keeps the package it has. Every other replica then reloads too
    (`replicas`: which replica uses which package version)."""
    require_roles(user, Role.ADMIN)
    try:
        here = await routing.reload_package()
    except CountyPackageError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [
                {"loc": ["county_package"], "msg": problem, "type": "county_package"}
                for problem in exc.problems
            ],
        ) from exc
    assert routing.reloads is not None
    return {**here, "replicas": await routing.reloads.everywhere(here, requested_by=user.subject)}


@admin.get("/classifier", summary="The learned classifier: examples and training")
async def classifier_state(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """How many labelled examples people's corrections gave, and the model trained from them."""
    require_roles(user, Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR)
    return await routing.classifier_state()


@admin.post("/classifier/train", summary="Train the classifier from the labelled examples now")
async def train_classifier(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Train from every labelled example; below the package's minimum, the lexicon decides alone."""
    require_roles(user, Role.ADMIN)
    return await routing.train()


def include(app: FastAPI) -> None:
    """Mount routing's routes."""
    app.include_router(router)
    app.include_router(admin)
