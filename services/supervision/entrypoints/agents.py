"""The directory of proxy agents (信访代办员) and their figures: read by staff, edited by admins and by a
town's leader for its own town's agents, every change kept."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from dispatch_common import etag, paging, store
from dispatch_common.auth import Principal
from dispatch_common.authz import Scope
from dispatch_common.county import area_names
from services.supervision.agent_figures import agent_report
from services.supervision.container import Supervision
from services.supervision.domain.agents import Agent, AgentFields, Tier, area_levels, placement_errors, serves
from services.supervision.entrypoints.agent_schemas import (
    AgentHistory,
    AgentPage,
    AgentPatch,
    AgentReport,
    AgentView,
)
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps

router = APIRouter(prefix="/v1", tags=["proxy agents"])

AreaCode = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9]+$")]


def _view(sv: Supervision, doc: dict[str, Any]) -> AgentView:
    names = area_names(sv.runtime.settings.county_dir)
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return AgentView.model_validate(fields | {"agent_id": doc["_id"], "area_name": names.get(doc["area"])})


def _actor(user: Principal) -> dict[str, Any]:
    return {"subject": user.subject, "role": user.role.value, "unit": user.unit}


def _editable(user: Principal, area: str) -> None:
    """A town's leader edits the agents of its own area (its town and the town's villages) only."""
    if user.scope == Scope.COUNTY:
        return
    if not user.area or not serves(user.area, area):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"area {area} is not within the caller's area")


def _fits(sv: Supervision, fields: AgentFields) -> None:
    errors = placement_errors(fields, area_levels(sv.runtime.settings.county_dir), set(sv.units))
    if errors:
        problems = [{"loc": ["body", "area"], "msg": e, "type": "value_error"} for e in errors]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problems)


async def _agent(sv: Supervision, agent_id: str) -> dict[str, Any]:
    assert sv.agents is not None
    doc = await sv.agents.get(agent_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id}")
    return doc


@router.get("/agents", summary="The proxy agents (信访代办员) by tier and area")
async def list_agents(
    user: CurrentUser,
    sv: SupervisionDeps,
    tier: Tier | None = None,
    area: AreaCode = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AgentPage:
    """Agents in id order; `area` gives the agents whose area lies within it (a town: its own agent and
    its villages')."""
    assert sv.agents is not None
    query: dict[str, Any] = {"_id": {"$gte": ""}} | ({"tier": tier.value} if tier else {})
    if area:
        query["area"] = {"$gte": area, "$lt": area + "\uffff"}
    found = await paging.page_or_422(sv.agents.agents, query, sort="_id", limit=limit, cursor=cursor)
    return AgentPage(items=[_view(sv, d) for d in found.items], next_cursor=found.next_cursor)


@router.get("/agents/{agent_id}", summary="One proxy agent", responses={200: {"headers": etag.ETAG_HEADER}})
async def get_agent(agent_id: str, user: CurrentUser, sv: SupervisionDeps, response: Response) -> AgentView:
    """An agent with its contact channels; its ETag is its revision."""
    doc = await _agent(sv, agent_id)
    etag.send(response, doc["revision"])
    return _view(sv, doc)


@router.post(
    "/agents", status_code=201, summary="Add a proxy agent", responses={201: {"headers": etag.ETAG_HEADER}}
)
async def create_agent(body: Agent, user: CurrentUser, sv: SupervisionDeps, response: Response) -> AgentView:
    """An admin adds an agent anywhere; a town's leader in its own town."""
    assert sv.agents is not None
    _editable(user, body.area)
    _fits(sv, body)
    doc = await sv.agents.create(body, _actor(user), sv.clock.now())
    if doc is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"agent {body.id} exists already")
    etag.send(response, doc["revision"])
    return _view(sv, doc)


@router.patch(
    "/agents/{agent_id}",
    summary="Change a proxy agent (If-Match its revision)",
    responses={200: {"headers": etag.ETAG_HEADER}, 412: {"description": "the agent changed since"}},
)
async def update_agent(
    agent_id: str, body: AgentPatch, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> AgentView:
    """Change an agent's fields; kept with who, when and what before (`/history`). A town's leader
    changes its own town's agents, and cannot move one out of its town."""
    assert sv.agents is not None
    doc = await _agent(sv, agent_id)
    _editable(user, doc["area"])
    tag.require(doc["revision"])
    changes = body.model_dump(mode="json", exclude_unset=True)
    fields = AgentFields.model_validate({k: doc.get(k) for k in AgentFields.model_fields} | changes)
    _editable(user, fields.area)
    _fits(sv, fields)
    try:
        saved = await sv.agents.update(doc, changes, _actor(user), sv.clock.now())
    except store.VersionConflict as exc:
        raise etag.stale(doc["revision"] + 1) from exc
    tag.send(saved["revision"])
    return _view(sv, saved)


@router.get("/agents/{agent_id}/history", summary="Every change of a proxy agent, oldest first")
async def agent_history(
    agent_id: str, user: CurrentUser, sv: SupervisionDeps, limit: Limit = 50, cursor: Cursor = None
) -> AgentHistory:
    """Who changed the agent, when, and the fields before and after each change."""
    assert sv.agents is not None
    await _agent(sv, agent_id)
    query = {"agent_id": agent_id, "at_ts": {"$gte": 0}}
    found = await paging.page_or_422(sv.agents.history, query, sort="at_ts", limit=limit, cursor=cursor)
    return AgentHistory.model_validate({"items": found.items, "next_cursor": found.next_cursor})


@router.get("/agent-figures", summary="代办 and 化解 figures per agent and per tier")
async def agent_figures(
    user: CurrentUser,
    sv: SupervisionDeps,
    since: datetime | None = None,
    until: datetime | None = None,
    area: AreaCode = None,
) -> AgentReport:
    """Cases taken, resolved (化解), pending, average hours to an accepted answer and satisfaction, over
    the cases taken up in [since, until); `area` keeps the agents of an area (the tiers' figures are the
    county's)."""
    assert sv.representations is not None
    report = await agent_report(sv.representations, sv.files, since=since, until=until, area=area)
    return AgentReport.model_validate(report)
