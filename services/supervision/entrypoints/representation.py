"""Representation (代办): a case given to a proxy agent with the petitioner's consent, and what the agent
does with it: follows it, and acts where the petitioner would (rates the answer, asks for 复查)."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status

from dispatch_common import etag, paging
from dispatch_common.auth import Principal, Role
from dispatch_common.authz import Scope
from services.supervision import commands
from services.supervision.container import Supervision
from services.supervision.entrypoints.actions import FollowUp, Reason, _act
from services.supervision.entrypoints.agent_schemas import (
    AgentCase,
    AgentCaseLine,
    AgentCases,
    CaseRepresentation,
    RepresentationView,
    TakeUp,
)
from services.supervision.entrypoints.cases import _visible, case_file_view
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.schemas import CaseFile
from services.supervision.representation import AlreadyRepresented, still_open

router = APIRouter(prefix="/v1", tags=["proxy agents"])


def _from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


async def _representation_view(sv: Supervision, doc: dict[str, Any]) -> RepresentationView:
    assert sv.representations is not None
    steps = await sv.representations.history(doc["_id"])
    return RepresentationView.model_validate(
        {k: v for k, v in doc.items() if not k.startswith("outbox")}
        | {"tier_due_at": _from_ms(doc.get("tier_due_ts")), "steps": steps}
    )


async def _represented(sv: Supervision, case_id: str) -> dict[str, Any]:
    assert sv.representations is not None
    doc = await sv.representations.of_case(case_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no agent")
    return doc


@router.post(
    "/cases/{case_id}/representation",
    status_code=201,
    summary="An agent takes up a case (代办), with the petitioner's consent",
)
async def take_up_case(
    case_id: str, body: TakeUp, user: CurrentUser, sv: SupervisionDeps
) -> RepresentationView:
    """A dispatcher gives a case to an agent, or records the petitioner's request for one; the
    petitioner's consent (how, when) is required. The agent then follows the case, gets a copy of the
    petitioner's notices and acts where the petitioner would."""
    assert sv.agents is not None and sv.representations is not None
    case = await _visible(sv, case_id, user)
    if case.get("confidential"):
        raise HTTPException(status.HTTP_409_CONFLICT, "a confidential report is not given to an agent")
    agent = await sv.agents.get(body.agent_id)
    if agent is None or not agent.get("active"):
        problem = [
            {"loc": ["body", "agent_id"], "msg": f"no active agent {body.agent_id}", "type": "value_error"}
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    by = {"subject": user.subject, "role": user.role.value, "unit": user.unit}
    consent = body.consent.model_dump(exclude_none=True)
    try:
        doc = await sv.representations.take_up(
            case, agent, how=body.how, consent=consent, by=by, clock=sv.clock
        )
    except AlreadyRepresented as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    sv.runtime.nudge()
    return await _representation_view(sv, doc)


@router.get("/cases/{case_id}/representation", summary="Who represents the petitioner of a case")
async def get_representation(case_id: str, user: CurrentUser, sv: SupervisionDeps) -> CaseRepresentation:
    """The agent carrying the case, every agent that carried it, the consent and the steps; null when
    no agent carries it."""
    assert sv.representations is not None
    if user.role != Role.PROXY_AGENT:  # an agent's reach is checked before (its own cases only)
        await _visible(sv, case_id, user)
    doc = await sv.representations.of_case(case_id)
    view = await _representation_view(sv, doc) if doc is not None else None
    return CaseRepresentation(case_id=case_id, representation=view)


@router.get("/agent/cases", summary="The cases an agent represents")
async def agent_cases(
    user: CurrentUser,
    sv: SupervisionDeps,
    agent_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AgentCases:
    """An agent's own cases (every case it carries or has carried), the latest it came to carry first;
    a county role names the agent."""
    assert sv.representations is not None
    if user.scope != Scope.COUNTY:
        agent_id = user.subject
    if not agent_id:
        problem = [{"loc": ["query", "agent_id"], "msg": "name the agent", "type": "missing"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    reps = sv.representations
    found = await paging.page_or_422(
        reps.steps, reps.carried_by(agent_id), sort="at_ts", limit=limit, cursor=cursor, descending=True
    )
    docs = [await reps.of_case(step["case_id"]) for step in found.items]
    cases = await sv.files.get_many([step["case_id"] for step in found.items])
    items = [
        AgentCaseLine.model_validate(d | {"since": s["at"], "open": still_open(cases.get(d["_id"]))})
        for s, d in zip(found.items, docs, strict=True)
        if d
    ]
    return AgentCases(items=items, next_cursor=found.next_cursor)


@router.get(
    "/agent/cases/{case_id}",
    summary="A represented case as its agent follows it",
    responses={200: {"headers": etag.ETAG_HEADER}},
)
async def agent_case(case_id: str, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned) -> AgentCase:
    """The case file (status, units, deadlines, the units' actions, the reply, the timeline) and the
    representation; only to an agent that carries or carried the case (404 otherwise, as for no case).
    The ETag is the case file's version, for If-Match on the agent's actions."""
    rep = await _represented(sv, case_id)
    doc = await sv.files.get(case_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    tag.send(doc["version"])
    view = case_file_view(doc, await sv.files.entries(case_id), sv.clock.now())
    return AgentCase(representation=await _representation_view(sv, rep), case=CaseFile.model_validate(view))


def _for_petitioner(user: Principal) -> Principal:
    """The agent acting where the petitioner would: the action is the callback staff's on the case
    file (回访, 复查), taken by the agent and recorded under its own name and role."""
    return user.model_copy(update={"scope": Scope.COUNTY})


@router.post("/agent/cases/{case_id}/rating", summary="The agent rates the answer for the petitioner")
async def agent_rating(
    case_id: str, body: FollowUp, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    """As the follow-up call (回访): 满意 or 基本满意 accept the answer (化解); 不满意 may reopen it."""
    await _represented(sv, case_id)
    details = {"rating": body.rating, "reopen": body.reopen}
    return await _act(
        sv, case_id, _for_petitioner(user), tag, commands.Command("followup", body.note, details)
    )


@router.post("/agent/cases/{case_id}/review", summary="The agent asks for a review (复查) for the petitioner")
async def agent_review(
    case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> CaseFile:
    """The petitioner's request for a review (复查) of the answer, made by its agent."""
    await _represented(sv, case_id)
    return await _act(sv, case_id, _for_petitioner(user), tag, commands.Command("review", body.reason))
