"""The supervisors' queues: what waits for their decision, oldest first, a page at a time."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from dispatch_common import paging
from dispatch_common.auth import Principal
from services.supervision.container import Supervision
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.schemas import CasePage

router = APIRouter(prefix="/v1/queues", tags=["supervisors' queues"])

QUEUE_FIELDS = {
    "case_no": 1,
    "status": 1,
    "lead_unit": 1,
    "jurisdiction": 1,
    "category": 1,
    "received_at": 1,
    "confidential": 1,
}


async def read_page(
    sv: Supervision,
    user: Principal,
    query: dict[str, Any],
    *,
    sort: str,
    limit: int,
    cursor: str | None,
    fields: dict[str, int],
    what: str,
    descending: bool = False,
) -> dict[str, Any]:
    """A page of case files, confidential reports left out for those who may not read them, the
    confidential ones shown audited."""
    where = query | sv.confidentiality.list_filter(user)
    found = await paging.page_or_422(
        sv.files.files,
        where,
        sort=sort,
        limit=limit,
        cursor=cursor,
        descending=descending,
        projection=QUEUE_FIELDS | fields | {sort: 1},
    )
    await sv.confidentiality.shown(user, found.items, what, key="_id")
    items = [{"case_id": d.pop("_id"), **{k: v for k, v in d.items() if k != sort}} for d in found.items]
    return {"items": items, "next_cursor": found.next_cursor, "limit": limit}


@router.get(
    "/extensions",
    summary="Extension requests (申请延期) waiting for a decision, oldest first",
    response_model=CasePage,
)
async def extensions(
    user: CurrentUser, sv: SupervisionDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Each case with its `extension_request` (days, reason, who asked, when)."""
    return await read_page(
        sv,
        user,
        {"extension_pending_ts": {"$gte": 0}},
        sort="extension_pending_ts",
        limit=limit,
        cursor=cursor,
        fields={"extension_request": 1},
        what="extension queue",
    )


@router.get(
    "/reviews",
    summary="Review (复查) and re-review (复核) requests waiting for an answer, oldest first",
    response_model=CasePage,
)
async def reviews(
    user: CurrentUser,
    sv: SupervisionDeps,
    stage: Annotated[Literal["review", "re_review"] | None, Query(description="only 复查 or 复核")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Each case in `review` or `re_review`, with the moment of its request and its answer limit."""
    query: dict[str, Any] = {"review_pending_ts": {"$gte": 0}}
    if stage:
        query["status"] = stage
    return await read_page(
        sv,
        user,
        query,
        sort="review_pending_ts",
        limit=limit,
        cursor=cursor,
        fields={"review_requested_at": 1, "re_review_requested_at": 1, "deadlines": 1},
        what="review queue",
    )


@router.get(
    "/disputes",
    summary="Disputed routes (争议管辖) waiting for the joint conference, oldest first",
    response_model=CasePage,
)
async def disputes(
    user: CurrentUser, sv: SupervisionDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Each `route_disputed` case with its `dispute_reason` and `disputed_at`; the conference decides on
    routing (`GET /v1/disputes` there)."""
    return await read_page(
        sv,
        user,
        {"disputed_ts": {"$gte": 0}},
        sort="disputed_ts",
        limit=limit,
        cursor=cursor,
        fields={"dispute_reason": 1, "disputed_at": 1},
        what="dispute queue",
    )
