"""Routing's HTTP API: decisions, a preview that stores nothing, corrections, disputes, the package."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch_common.auth import Principal, Resolver, authenticate
from services.routing import corrections, disputes, handlers, overrides, returns
from services.routing.bootstrap import Routing
from services.routing.domain.county import CountyPackageError
from services.routing.domain.models import RouteRequest

router = APIRouter(prefix="/v1", tags=["routes"])
admin = APIRouter(prefix="/v1/admin", tags=["administration"])
# Who may call each operation, and with which scope: data/policy/authorization.yaml.


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

    def correction(self) -> corrections.Correction:
        return corrections.Correction(**self.model_dump())


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


def _assigned_units(doc: dict[str, Any]) -> set[str]:
    """The units a route gives the case to; none while it waits in the manual queue (a manual route's
    proposed unit is not assigned anything)."""
    decision = doc["decision"]
    if decision.get("queue") != "auto":
        return set()
    return {u["code"] for u in [decision.get("lead_unit") or {}, *decision.get("assisting_units", [])] if u}


def _confidential(doc: dict[str, Any]) -> bool:
    return bool(doc["decision"].get("confidential") or doc["request"].get("confidential"))


async def _visible(routing: Routing, user: Principal, case_id: str, what: str) -> dict[str, Any]:
    """The route, if the caller may see it: county-wide roles and the units it assigns the case to; a
    confidential report's only its units and the county's named roles (audited). `404` otherwise."""
    doc = await routing.routes.find_one({"_id": case_id}, {"outbox": 0})
    if doc is None or not await routing.confidentiality.admit(
        user, case_id, unit_codes=_assigned_units(doc), confidential=_confidential(doc), what=what
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for case {case_id}")
    return doc


async def _not_hidden(routing: Routing, user: Principal, case_id: str, what: str) -> None:
    """Refuse (`404`) an action on a confidential route the caller may not see; other routes are
    checked by the handlers as before."""
    doc = await routing.routes.find_one({"_id": case_id}, {"outbox": 0})
    if doc is not None and _confidential(doc):
        await _visible(routing, user, case_id, what)


def resolvers(routing: Routing) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the routes that give it the case."""

    async def case_id(value: str, user: Principal) -> bool:
        doc = await routing.routes.find_one({"_id": value}, {"decision": 1, "request": 1})
        return doc is not None and routing.confidentiality.may_see(
            user, unit_codes=_assigned_units(doc), confidential=_confidential(doc)
        )

    return {"case_id": case_id}


@router.get(
    "/routes/{case_id}", summary="The routing decision of a case, with its explanation and corrections"
)
async def get_route(case_id: str, user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """A stored decision; a unit sees the routes of the cases it leads or assists on."""
    return _view(await _visible(routing, user, case_id, "route"))


@router.post("/routes/preview", summary="The decision routing would make, without storing anything")
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
    await _not_hidden(routing, user, case_id, "route override")
    return await _correct(overrides.override_route, case_id, body.correction(), user, routing)


@router.post("/routes/{case_id}/return", summary="A unit returns a case (退单) within the time limit")
async def return_route(
    case_id: str, body: ReturnBody, user: CurrentUser, routing: RoutingDeps
) -> dict[str, Any]:
    """The lead unit returns the case and routing decides again without it; an assisting unit's
    refusal, a second return, or no other competent unit sends the case to the joint conference."""
    await _not_hidden(routing, user, case_id, "route return")
    with _answers():
        doc = await returns.return_route(
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
    conf = routing.confidentiality
    query = {"status": "disputed", **conf.list_filter(user, "decision.confidential")}
    cursor = routing.routes.find(query, {"outbox": 0}).sort([("disputed_at", 1)])
    docs = [doc async for doc in cursor.skip(offset).limit(limit)]
    await conf.audit.record(user, [d["_id"] for d in docs if _confidential(d)], "dispute queue")
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
    await _not_hidden(routing, user, case_id, "dispute decision")
    return await _correct(disputes.decide_dispute, case_id, body.correction(), user, routing)


@admin.get("/county", summary="The county package in use")
async def county_package(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Its version (content hash), size and when it was loaded."""
    return routing.package_summary()


@admin.post("/county/reload", summary="Load the county package again, without a restart")
async def reload_county(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Validate the package on disk and use it; a package with problems is refused with every problem
    listed, and the service keeps the package it has. Every other replica then reloads too
    (`replicas`: which replica uses which package version)."""
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
    return await routing.classifier_state()


@admin.post("/classifier/train", summary="Train the classifier from the labelled examples now")
async def train_classifier(user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Train from every labelled example; below the package's minimum, the lexicon decides alone."""
    return await routing.train()


def include(app: FastAPI) -> None:
    """Mount routing's routes."""
    from services.routing.entrypoints import streams

    app.include_router(router)
    app.include_router(admin)
    app.include_router(streams.router)
