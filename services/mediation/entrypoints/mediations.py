"""Mediation's HTTP API for mediations: open, read, consent, sessions, outcome, fulfilment, escalation."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse

from dispatch_common import etag
from dispatch_common.auth import Principal, Role
from services.mediation import commands, opening
from services.mediation.container import Mediation
from services.mediation.domain.lifecycle import may_see
from services.mediation.domain.parties import AGREEMENT_DOCUMENT, opened_document
from services.mediation.entrypoints import schemas
from services.mediation.entrypoints.bodies import (
    Assign,
    Consent,
    Escalate,
    FulfilmentCheck,
    OpenMediation,
    Outcome,
    Reason,
    Reschedule,
    ScheduleSession,
    SessionRecord,
    as_details,
)
from services.mediation.entrypoints.deps import (
    CHANGED,
    CHANGED_201,
    CurrentUser,
    Cursor,
    Endpoint,
    Limit,
    MediationDeps,
    answers,
)
from services.mediation.entrypoints.views import audit_clear_read, shown

router = APIRouter(prefix="/v1", tags=["mediations"])
# Who may read the audit of a mediation's clear reads.
AUDIT_READERS = (Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR)


@router.get("/mediations", summary="Mediations of a case", response_model=schemas.Mediations)
async def list_mediations(
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    case_id: Annotated[str, Query(min_length=1, max_length=128)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The mediations the caller may see for one case, oldest first, a cursor page at a time
    (`next_cursor`; null: the last page). A page leaves out those the caller may not see, so it may
    hold fewer than `limit`."""
    with answers():
        found = await med.repo.page_of_case(case_id, limit, cursor)
    items = [await shown(med, d, user, endpoint) for d in found.items if may_see(user, d)]
    return {"items": items, "limit": limit, "next_cursor": found.next_cursor}


@router.get(
    "/mediations/{mediation_id}",
    summary="One mediation",
    responses={200: {"headers": etag.ETAG_HEADER}},
    response_model=schemas.Mediation,
)
async def get_mediation(
    mediation_id: str, user: CurrentUser, med: MediationDeps, endpoint: Endpoint, response: Response
) -> dict[str, Any]:
    """A mediation by id; its ETag is its `version`, for `If-Match` on the actions."""
    doc = await med.repo.get(mediation_id)
    if doc is None or not may_see(user, doc):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediation {mediation_id}")
    etag.send(response, doc["version"])
    return await shown(med, doc, user, endpoint)


@router.get(
    "/mediations/{mediation_id}/audit",
    summary="Who read this mediation's names, records and agreement in clear, and when",
    response_model=schemas.AuditEntries,
)
async def get_audit(
    mediation_id: str, user: CurrentUser, med: MediationDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The audit of a mediation's clear reads, oldest first (auditors, admins, supervisors), a cursor
    page at a time (`next_cursor`; null: the last page)."""
    if await med.repo.get(mediation_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediation {mediation_id}")
    with answers():
        found = await med.repo.audit_entries(mediation_id, limit, cursor)
    items = [{k: v for k, v in d.items() if k not in ("_id", "at_ts")} for d in found.items]
    return {"items": items, "limit": limit, "next_cursor": found.next_cursor}


@router.get(
    "/mediations/{mediation_id}/agreement",
    summary="The agreement (调解协议书) as an HTML page",
    response_class=HTMLResponse,
)
async def agreement(
    mediation_id: str, user: CurrentUser, med: MediationDeps, endpoint: Endpoint
) -> HTMLResponse:
    """The agreement document made from the template when the parties agreed."""
    doc = await med.repo.get(mediation_id)
    if doc is None or not may_see(user, doc):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediation {mediation_id}")
    if not doc.get("agreement"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"mediation {mediation_id} has no agreement")
    html = opened_document(med.rules.keys, doc["_id"], doc["agreement"])
    await audit_clear_read(med, doc, user, endpoint, [AGREEMENT_DOCUMENT])
    return HTMLResponse(html)


@router.post(
    "/mediations",
    status_code=201,
    summary="Open a mediation (a dispatcher, or a unit of the case)",
    response_model=schemas.Mediation,
)
async def open_mediation(
    body: OpenMediation, user: CurrentUser, med: MediationDeps, endpoint: Endpoint, response: Response
) -> dict[str, Any]:
    """The organization is chosen by jurisdiction, type and category, the mediator by specialty and
    load; `409` while another mediation of the case is open or when no organization serves it."""
    with answers():
        doc = await opening.request_mediation(
            body.case_id,
            caller=user,
            repo=med.repo,
            rules=med.rules,
            clock=med.clock,
            requested=body.type,
            organization=body.organization,
            language=body.language,
            note=body.note,
        )
    med.runtime.nudge()
    etag.send(response, doc.get("version", 1))  # a new record is at version 1
    return await shown(med, doc, user, endpoint)


async def _act(
    med: Mediation,
    mediation_id: str,
    user: Principal,
    endpoint: str,
    tag: etag.Version,
    action: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    with answers(tag.if_match):
        doc = await commands.act(
            mediation_id,
            action,
            details,
            caller=user,
            repo=med.repo,
            rules=med.rules,
            clock=med.clock,
            precondition=tag.require,
        )
    med.runtime.nudge()
    tag.send(doc["version"])
    return await shown(med, doc, user, endpoint)


@router.post(
    "/mediations/{mediation_id}/assign",
    summary="Give it to another organization or mediator",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def assign(
    mediation_id: str,
    body: Assign,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    """Dispatchers move a mediation to another organization; its organization changes the mediator."""
    with answers(tag.if_match):
        doc = await opening.assign(
            mediation_id,
            caller=user,
            repo=med.repo,
            rules=med.rules,
            clock=med.clock,
            organization=body.organization,
            mediator=body.mediator,
            reason=body.reason,
            precondition=tag.require,
        )
    med.runtime.nudge()
    tag.send(doc["version"])
    return await shown(med, doc, user, endpoint)


@router.post(
    "/mediations/{mediation_id}/consent",
    summary="Record the parties' consent (mediation is voluntary)",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def consent(
    mediation_id: str,
    body: Consent,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    """All agree: `in_progress`; some not asked yet: `consent_pending`; one refuses: `refused`, with
    the next step in `next` (a referral, or back to the lead unit's handling)."""
    return await _act(med, mediation_id, user, endpoint, tag, "consent", as_details(body))


@router.post(
    "/mediations/{mediation_id}/sessions",
    status_code=201,
    summary="Schedule a session",
    responses=CHANGED_201,
    response_model=schemas.Mediation,
)
async def schedule(
    mediation_id: str,
    body: ScheduleSession,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    """Time, place or video, parties and invited participants; with `record`, a session held already."""
    return await _act(med, mediation_id, user, endpoint, tag, "schedule_session", as_details(body))


@router.post(
    "/mediations/{mediation_id}/sessions/{no}/reschedule",
    summary="Move a scheduled session",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def reschedule(
    mediation_id: str,
    no: int,
    body: Reschedule,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    return await _act(
        med, mediation_id, user, endpoint, tag, "reschedule_session", as_details(body) | {"no": no}
    )


@router.post(
    "/mediations/{mediation_id}/sessions/{no}/cancel",
    summary="Cancel a scheduled session",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def cancel(
    mediation_id: str,
    no: int,
    body: Reason,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    return await _act(
        med, mediation_id, user, endpoint, tag, "cancel_session", {"no": no, "reason": body.reason}
    )


@router.post(
    "/mediations/{mediation_id}/sessions/{no}/record",
    summary="Record a session held (调解记录)",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def record(
    mediation_id: str,
    no: int,
    body: SessionRecord,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    return await _act(
        med, mediation_id, user, endpoint, tag, "record_session", {"no": no, "record": as_details(body)}
    )


@router.post(
    "/mediations/{mediation_id}/outcome",
    summary="The outcome: agreement, or no agreement",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def outcome(
    mediation_id: str,
    body: Outcome,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    """An agreement makes the 调解协议书 from its template and sets the fulfilment check; no agreement
    names the next step (a referral to legal aid, arbitration, the court or counselling, or handling)."""
    return await _act(med, mediation_id, user, endpoint, tag, "conclude", as_details(body))


@router.post(
    "/mediations/{mediation_id}/fulfilment",
    summary="Record the agreement's fulfilment check",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def fulfilment(
    mediation_id: str,
    body: FulfilmentCheck,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    return await _act(med, mediation_id, user, endpoint, tag, "check_fulfilment", as_details(body))


@router.post(
    "/mediations/{mediation_id}/escalate",
    summary="The dispute grew: warn and bring in the police",
    responses=CHANGED,
    response_model=schemas.Mediation,
)
async def escalate(
    mediation_id: str,
    body: Escalate,
    user: CurrentUser,
    med: MediationDeps,
    endpoint: Endpoint,
    tag: etag.Versioned,
) -> dict[str, Any]:
    """At the policy's thresholds (people involved, threats): a warning, and the police station of
    the jurisdiction joins (警调联动)."""
    return await _act(med, mediation_id, user, endpoint, tag, "escalate", as_details(body))
