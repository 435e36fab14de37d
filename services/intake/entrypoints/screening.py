"""Intake's manual screening: the queue of cases the rules left to a person, and their decision."""

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common import etag, paging
from dispatch_common.paging import Cursor, Limit
from services.intake import manual_screening
from services.intake.adapters.repository import NO_OUTBOX
from services.intake.domain.models import Registered
from services.intake.domain.screening import ScreeningResult
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited
from services.intake.entrypoints.schemas import ScreeningQueuePage
from services.intake.entrypoints.views import readable, registration_view

router = APIRouter(prefix="/v1", tags=["cases"], responses=TOO_MANY)


class ScreeningDecision(BaseModel):
    """A person's screening of a case from the manual queue."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal[
        "accepted", "not_accepted", "legal_redirect", "transferred", "emergency_transfer", "answered"
    ]
    nature: Literal["建议意见", "检举控告", "申诉求决"] | None = None
    reason: str = Field(min_length=1, max_length=500)
    transfer_to: str | None = Field(None, max_length=64)
    answer: str | None = Field(None, max_length=2000)


@router.get(
    "/screening/queue",
    dependencies=[limited("read")],
    response_model=ScreeningQueuePage,
    summary="Cases waiting for manual screening, oldest first",
)
async def screening_queue(
    user: CurrentUser, intake: IntakeDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The manual screening queue, by registration time, a page at a time; a case screened meanwhile
    leaves it without shifting the next page."""
    hidden = intake.confidentiality.list_filter(user)  # a confidential report only to its named roles
    found = await paging.page_or_422(
        intake.cases.cases,
        intake.cases.screening_query(hidden),
        sort="received_at",
        limit=limit,
        cursor=cursor,
        projection=NO_OUTBOX,
    )
    await intake.confidentiality.shown(user, found.items, "screening queue", key="_id")
    return {"items": [registration_view(d) for d in found.items], "next_cursor": found.next_cursor}


@router.post(
    "/cases/{case_id}/screening",
    dependencies=[limited("read")],
    response_model=Registered,
    responses={200: {"headers": etag.ETAG_HEADER, "description": "Screened; `ETag` the case's new version"}},
    summary="Screen a case from the manual queue",
)
async def screen_case(
    case_id: str,
    body: ScreeningDecision,
    user: CurrentUser,
    intake: IntakeDeps,
    response: Response,
    if_match: etag.IfMatch = None,
) -> Registered:
    """Record a person's screening decision."""
    await readable(intake, user, case_id, "manual screening")
    if body.outcome == "answered" and not body.answer:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["body", "answer"], "msg": "an answered consultation needs the answer"}],
        )
    decision = ScreeningResult(
        outcome=body.outcome,
        nature=body.nature,
        hotline_nature=None,
        reason=body.reason,
        rule_id=None,
        rules_version=intake.screening.current.rules.version,
        transfer_to=body.transfer_to,
        answer=body.answer,
        confidential=body.nature in intake.screening.current.rules.file.confidential_natures,
        evidence=[f"screened by {user.role.value}"],
    )
    try:
        done = await manual_screening.screen_by_hand(
            case_id, decision, intake=intake, caller=user, if_match=if_match
        )
    except manual_screening.StaleCase as exc:
        raise etag.stale(exc.version) from exc
    except manual_screening.ScreeningNotOpen as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if done is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    intake.runtime.nudge()
    registered, version = done
    etag.send(response, version)
    return registered
