"""Routing's HTTP API: decisions, a preview that stores nothing, corrections, disputes, the package."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch_common import etag
from dispatch_common.auth import Principal, Resolver
from services.routing import corrections, detach, disputes, handlers, overrides, returns
from services.routing.container import Routing
from services.routing.domain.county import CountyPackageError
from services.routing.domain.models import RouteRequest
from services.routing.entrypoints import queues, replay
from services.routing.entrypoints.replay_schemas import Activation
from services.routing.entrypoints.schemas import (
    ClassifierState,
    CountyPackage,
    CountyReload,
    DetachBody,
    Route,
    RouteDecisionView,
)
from services.routing.entrypoints.views import (
    CurrentUser,
    RoutingDeps,
    assigned_units,
    confidential,
    route_view,
    visible,
)

router = APIRouter(prefix="/v1", tags=["routes"])
admin = APIRouter(prefix="/v1/admin", tags=["administration"])
# Who may call each operation, and with which scope: data/policy/authorization.yaml.
CHANGED = {
    "headers": etag.ETAG_HEADER,
    "description": "The route as it now is; `ETag` its new version",
}
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

    def correction(self) -> corrections.Correction:
        return corrections.Correction(**self.model_dump())


class ConferenceDecision(CorrectionBody):
    """The joint conference's decision: it names the lead unit."""

    lead_unit: Code


class ReturnBody(BaseModel):
    """A unit's return of a case (退单), with its reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=1000)


@asynccontextmanager
async def _answers(routing: Routing, case_id: str, if_match: str | None) -> AsyncIterator[None]:
    """Turn the handlers' refusals into HTTP answers: a stale If-Match, or a race lost at the write by
    a change made with one (both read the same version), is a 412 carrying the route's current ETag."""
    try:
        yield
    except corrections.StaleRoute as exc:
        raise etag.stale(exc.version) from exc
    except corrections.RouteChanged as exc:
        if if_match is None:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        now = await routing.routes.find_one({"_id": case_id}, {"version": 1})
        raise etag.stale(now["version"] if now else 0) from exc
    except corrections.RouteNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except corrections.NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except corrections.RouteConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except corrections.InvalidCorrection as exc:
        raise RequestValidationError(
            [
                {"loc": ("body", *field.split(".")), "msg": msg, "type": "value_error"}
                for field, msg in exc.errors
            ]
        ) from exc


async def _not_hidden(routing: Routing, user: Principal, case_id: str, what: str) -> None:
    """Refuse (`404`) an action on a confidential route the caller may not see; other routes are
    checked by the handlers as before."""
    doc = await routing.routes.find_one({"_id": case_id}, {"outbox": 0})
    if doc is not None and confidential(doc):
        await visible(routing, user, case_id, what)


def resolvers(routing: Routing) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the routes that give it the case."""

    async def case_id(value: str, user: Principal) -> bool:
        doc = await routing.routes.find_one({"_id": value}, {"decision": 1, "request": 1})
        return doc is not None and routing.confidentiality.may_see(
            user, unit_codes=assigned_units(doc), confidential=confidential(doc)
        )

    return {"case_id": case_id}


def _changed(doc: dict[str, Any], response: Response) -> dict[str, Any]:
    """The route as the API shows it, with its version as the ETag."""
    etag.send(response, doc.get("version", 1))
    return route_view(doc)


@router.get(
    "/routes/{case_id}",
    response_model=Route,
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="The routing decision of a case, with its explanation and corrections",
)
async def get_route(
    case_id: str, user: CurrentUser, routing: RoutingDeps, response: Response
) -> dict[str, Any]:
    """A stored decision; a unit sees the routes of the cases it leads or assists on. `ETag`: the
    route's version, for `If-Match` on an override, a return or the conference's decision."""
    return _changed(await visible(routing, user, case_id, "route"), response)


@router.post(
    "/routes/preview",
    response_model=RouteDecisionView,
    summary="The decision routing would make, without storing anything",
)
async def preview_route(body: PreviewRequest, user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Dry-run the routing decision."""
    engine = routing.engine
    decision = await handlers.decide_off_loop(engine, RouteRequest(**body.model_dump()))
    return {**decision.model_dump(mode="json"), "package_version": engine.version}


async def _correct(
    apply: Callable[..., Awaitable[dict[str, Any]]],
    case_id: str,
    correction: corrections.Correction,
    user: Principal,
    routing: Routing,
    if_match: str | None,
) -> dict[str, Any]:
    """A person's correction of the route (override or the conference's decision): applied, published,
    and counted towards the classifier's next training."""
    async with _answers(routing, case_id, if_match):
        doc = await apply(
            case_id,
            correction,
            caller=user,
            routes=routing.routes,
            engine=routing.engine,
            clock=routing.clock,
            if_match=if_match,
        )
    routing.runtime.nudge()
    await routing.train_if_due()
    return doc


@router.post(
    "/routes/{case_id}/override",
    response_model=Route,
    responses={200: CHANGED},
    summary="A dispatcher's override (改派), or placing a manual case",
)
async def override_route(
    case_id: str,
    body: CorrectionBody,
    user: CurrentUser,
    routing: RoutingDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> dict[str, Any]:
    """Set the lead unit, assisting units, category, tier or jurisdiction, with a reason."""
    await _not_hidden(routing, user, case_id, "route override")
    doc = await _correct(overrides.override_route, case_id, body.correction(), user, routing, if_match)
    return _changed(doc, response)


@router.post(
    "/routes/{case_id}/detach",
    response_model=Route,
    responses={200: CHANGED},
    summary="Detach a case wrongly linked to an incident (同一事项): it is routed on its own",
)
async def detach_route(
    case_id: str,
    body: DetachBody,
    user: CurrentUser,
    routing: RoutingDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> dict[str, Any]:
    """Take the case out of its incident, with a reason: routing decides its route anew (revision +1,
    correction `detach`), and the case is no longer handled through the incident's lead case."""
    await _not_hidden(routing, user, case_id, "route detach")
    doc = await _correct(
        _detach(body.reason), case_id, corrections.Correction(reason=body.reason), user, routing, if_match
    )
    return _changed(doc, response)


def _detach(reason: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def apply(case_id: str, _: corrections.Correction, **kwargs: Any) -> dict[str, Any]:
        return await detach.detach_case(case_id, reason, **kwargs)

    return apply


@router.post(
    "/routes/{case_id}/return",
    response_model=Route,
    responses={200: CHANGED},
    summary="A unit returns a case (退单) within the time limit",
)
async def return_route(
    case_id: str,
    body: ReturnBody,
    user: CurrentUser,
    routing: RoutingDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> dict[str, Any]:
    """The lead unit returns the case and routing decides again without it; an assisting unit's
    refusal, a second return, or no other competent unit sends the case to the joint conference."""
    await _not_hidden(routing, user, case_id, "route return")
    async with _answers(routing, case_id, if_match):
        doc = await returns.return_route(
            case_id,
            body.reason,
            caller=user,
            routes=routing.routes,
            engine=routing.engine,
            clock=routing.clock,
            policy=routing.return_policy,
            if_match=if_match,
        )
    routing.runtime.nudge()
    return _changed(doc, response)


@router.post(
    "/disputes/{case_id}/decision",
    response_model=Route,
    responses={200: CHANGED},
    summary="The joint conference decides a disputed route",
)
async def decide_dispute(
    case_id: str,
    body: ConferenceDecision,
    user: CurrentUser,
    routing: RoutingDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> dict[str, Any]:
    """Name the lead unit (and, if needed, assisting units, category, tier, jurisdiction) for good."""
    await _not_hidden(routing, user, case_id, "dispute decision")
    doc = await _correct(disputes.decide_dispute, case_id, body.correction(), user, routing, if_match)
    return _changed(doc, response)


@admin.get("/county", response_model=CountyPackage, summary="The county package in use")
async def county_package(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Its version (content hash), size, when it was loaded, and the replay report it was activated
    on (`approval`), if it was."""
    return {**routing.package_summary(), "approval": await replay.approval_in_use(routing)}


@admin.post(
    "/county/reload", response_model=CountyReload, summary="Load the county package again, without a restart"
)
async def reload_county(
    user: CurrentUser, routing: RoutingDeps, body: Activation | None = None
) -> dict[str, Any]:
    """Validate the package on disk and use it; a package with problems is refused with every problem
    listed, and the service keeps the package it has. Every other replica then reloads too
    (`replicas`: which replica uses which package version).

    Activation: with a `replay_id`, the package on disk must be the one that replay tried (`409`
    otherwise, and nothing changes), and the replay's report is recorded as its approval."""
    approval = None
    try:
        if body is not None:
            here, approval = await replay.activate(routing, body, user.subject)
        else:
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
    replicas = await routing.reloads.everywhere(here, requested_by=user.subject)
    return {**here, "approval": approval, "replicas": replicas}


@admin.get(
    "/classifier", response_model=ClassifierState, summary="The learned classifier: examples and training"
)
async def classifier_state(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """How many labelled examples people's corrections gave, and the model trained from them."""
    return await routing.classifier_state()


@admin.post(
    "/classifier/train",
    response_model=ClassifierState,
    summary="Train the classifier from the labelled examples now",
)
async def train_classifier(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Train from every labelled example; below the package's minimum, the lexicon decides alone."""
    return await routing.train()


def include(app: FastAPI) -> None:
    """Mount routing's routes (the queues first: `/routes/manual` is not a case id)."""
    from services.routing.entrypoints import streams

    app.include_router(queues.router)
    app.include_router(router)
    app.include_router(admin)
    app.include_router(replay.router)
    app.include_router(streams.router)
