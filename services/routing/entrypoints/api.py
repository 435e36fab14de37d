"""Routing's HTTP API: a stored decision, and a preview that stores nothing."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dispatch_common.auth import Principal, Role, authenticate, require_roles
from services.routing.bootstrap import Routing
from services.routing.domain.models import RouteRequest

router = APIRouter(prefix="/v1", tags=["routes"])
READERS = (
    Role.DISPATCHER,
    Role.RECEPTION_CLERK,
    Role.SUPERVISOR,
    Role.COUNTY_LEADER,
    Role.AUDITOR,
    Role.ADMIN,
)


async def _routing(request: Request) -> Routing:
    return request.app.state.routing


CurrentUser = Annotated[Principal, Depends(authenticate)]
RoutingDeps = Annotated[Routing, Depends(_routing)]


class PreviewRequest(BaseModel):
    """A request to route without storing anything."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=5000)
    address: str | None = Field(None, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    people_count: int | None = Field(None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _both_coordinates(self) -> "PreviewRequest":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat must be given together")
        return self


@router.get("/routes/{case_id}", summary="The routing decision of a case, with its explanation")
async def get_route(case_id: str, user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """A stored decision."""
    require_roles(user, *READERS)
    doc = await routing.routes.find_one({"_id": case_id}, {"outbox": 0})
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for case {case_id}")
    return {
        "case_id": doc["_id"],
        "case_no": doc["case_no"],
        **doc["decision"],
        "package_version": doc["package_version"],
        "decided_at": doc["decided_at"],
    }


@router.post("/routes/preview", summary="The decision routing would make, without storing anything")
async def preview_route(body: PreviewRequest, user: CurrentUser, routing: RoutingDeps) -> dict[str, Any]:
    """Dry-run the routing decision."""
    require_roles(user, *READERS)
    decision = routing.engine.decide(RouteRequest(**body.model_dump()))
    return {**decision.model_dump(mode="json"), "package_version": routing.engine.version}


def include(app: FastAPI) -> None:
    """Mount routing's routes."""
    app.include_router(router)
