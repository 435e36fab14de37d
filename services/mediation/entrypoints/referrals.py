"""Mediation's HTTP API for referrals: legal aid, counselling, labour arbitration and the court."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse

from dispatch_common import etag
from dispatch_common.auth import Principal
from dispatch_common.envelope import derived_event_id
from services.mediation import referral_commands
from services.mediation.container import Mediation
from services.mediation.domain.models import ReferralRequest
from services.mediation.domain.referrals import may_see
from services.mediation.entrypoints import schemas
from services.mediation.entrypoints.bodies import (
    Close,
    CounsellingSession,
    Handler,
    MakeReferral,
    Note,
    Review,
    as_details,
)
from services.mediation.entrypoints.deps import CHANGED, CurrentUser, Cursor, Limit, MediationDeps, answers

router = APIRouter(prefix="/v1", tags=["referrals"])
HIDDEN = ("letter_html", "outbox", "outbox_pending", "receiving_code", "made_ts")


def referral_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A referral as the API shows it; its letter is at its own path."""
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if k not in (*HIDDEN, "_id")}}


@router.get("/referrals", summary="Referrals of a case", response_model=schemas.Referrals)
async def list_referrals(
    user: CurrentUser,
    med: MediationDeps,
    case_id: Annotated[str, Query(min_length=1, max_length=128)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The referrals the caller may see for one case, oldest first, a cursor page at a time
    (`next_cursor`; null: the last page). A page leaves out those the caller may not see, so it may
    hold fewer than `limit`."""
    with answers():
        found = await med.repo.referrals_page(case_id, limit, cursor)
    items = [referral_view(d) for d in found.items if may_see(user, d)]
    return {"items": items, "limit": limit, "next_cursor": found.next_cursor}


async def _visible(med: Mediation, referral_id: str, user: Principal) -> dict[str, Any]:
    doc = await med.repo.referral(referral_id)
    if doc is None or not may_see(user, doc):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no referral {referral_id}")
    return doc


@router.get(
    "/referrals/{referral_id}",
    summary="One referral",
    responses={200: {"headers": etag.ETAG_HEADER}},
    response_model=schemas.Referral,
)
async def get_referral(
    referral_id: str, user: CurrentUser, med: MediationDeps, response: Response
) -> dict[str, Any]:
    """A referral by id; its ETag is its `version`, for `If-Match` on its steps."""
    doc = await _visible(med, referral_id, user)
    etag.send(response, doc["version"])
    return referral_view(doc)


@router.get(
    "/referrals/{referral_id}/letter",
    summary="The referral letter (转介函) as an HTML page",
    response_class=HTMLResponse,
)
async def letter(referral_id: str, user: CurrentUser, med: MediationDeps) -> HTMLResponse:
    return HTMLResponse((await _visible(med, referral_id, user))["letter_html"])


@router.post(
    "/referrals",
    status_code=201,
    summary="Refer a case (a dispatcher, or a unit of the case)",
    response_model=schemas.Referral,
)
async def make_referral(
    body: MakeReferral,
    user: CurrentUser,
    med: MediationDeps,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> dict[str, Any]:
    """The receiving center is the unit of the track's types that serves the case's jurisdiction. With
    an `Idempotency-Key`, the same request again answers the same referral."""
    if idempotency_key:
        referral_id = derived_event_id("referral", body.case_id, "direct", user.subject, idempotency_key)
    else:
        referral_id = str(uuid.uuid4())
    request = ReferralRequest.model_validate(body.model_dump(exclude={"case_id"}))
    with answers():
        doc = await referral_commands.refer(
            body.case_id,
            request,
            caller=user,
            repo=med.repo,
            rules=med.rules,
            clock=med.clock,
            referral_id=referral_id,
        )
    med.runtime.nudge()
    etag.send(response, doc.get("version", 1))  # a new record is at version 1
    return referral_view(doc)


async def _step(
    med: Mediation, referral_id: str, user: Principal, tag: etag.Version, name: str, details: dict[str, Any]
) -> dict[str, Any]:
    with answers(tag.if_match):
        doc = await referral_commands.step(
            referral_id,
            name,
            details,
            caller=user,
            repo=med.repo,
            rules=med.rules,
            clock=med.clock,
            precondition=tag.require,
        )
    med.runtime.nudge()
    tag.send(doc["version"])
    return referral_view(doc)


@router.post(
    "/referrals/{referral_id}/accept",
    summary="The receiving center accepts the referral",
    responses=CHANGED,
    response_model=schemas.Referral,
)
async def accept(
    referral_id: str, body: Note, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    return await _step(med, referral_id, user, tag, "accept", as_details(body))


@router.post(
    "/referrals/{referral_id}/review",
    summary="Legal aid: review the application (eligibility)",
    responses=CHANGED,
    response_model=schemas.Referral,
)
async def review(
    referral_id: str, body: Review, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """Matter type and economic hardship against the policy's checklist; not eligible closes it."""
    return await _step(med, referral_id, user, tag, "review", as_details(body))


@router.post(
    "/referrals/{referral_id}/assign",
    summary="Assign the lawyer or counsellor",
    responses=CHANGED,
    response_model=schemas.Referral,
)
async def assign(
    referral_id: str, body: Handler, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    return await _step(med, referral_id, user, tag, "assign", as_details(body))


@router.post(
    "/referrals/{referral_id}/sessions",
    summary="Counselling: count a session held",
    responses=CHANGED,
    response_model=schemas.Referral,
)
async def session(
    referral_id: str, body: CounsellingSession, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """A risk level raised to the crisis level alerts at once, as a crisis does."""
    return await _step(med, referral_id, user, tag, "record_session", as_details(body))


@router.post(
    "/referrals/{referral_id}/crisis",
    summary="Counselling: a crisis (risk to life), alert at once",
    responses=CHANGED,
    response_model=schemas.Referral,
)
async def crisis(
    referral_id: str, body: Note, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    return await _step(med, referral_id, user, tag, "crisis", as_details(body))


@router.post(
    "/referrals/{referral_id}/close",
    summary="The receiving center closes it with its result",
    responses=CHANGED,
    response_model=schemas.Referral,
)
async def close(
    referral_id: str, body: Close, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    return await _step(med, referral_id, user, tag, "close", as_details(body))
