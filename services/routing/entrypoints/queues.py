"""The queues of routes that wait for people: the manual dispatch queue (人工派单) and the joint
conference's (争议管辖), oldest first, a page at a time."""

from typing import Any

from fastapi import APIRouter

from dispatch_common import paging
from dispatch_common.auth import Principal
from dispatch_common.paging import Cursor, Limit
from services.routing.container import Routing
from services.routing.entrypoints.schemas import DisputePage, ManualQueuePage
from services.routing.entrypoints.views import CurrentUser, RoutingDeps, confidential, route_view

router = APIRouter(prefix="/v1", tags=["routes"])

# What each queue holds; every route has `decided_at`, every disputed one `disputed_at` (the sort).
MANUAL = {"decision.queue": "manual", "status": "routed"}
DISPUTED = {"status": "disputed"}


async def _page(
    routing: Routing,
    user: Principal,
    query: dict[str, Any],
    *,
    sort: str,
    limit: int,
    cursor: str | None,
    what: str,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of routes the caller may see (confidential ones only to the roles that read every report,
    audited), oldest first by `sort`."""
    conf = routing.confidentiality
    where = {**query, **conf.list_filter(user, "decision.confidential")}
    found = await paging.page_or_422(
        routing.routes, where, sort=sort, limit=limit, cursor=cursor, projection={"outbox": 0}
    )
    await conf.audit.record(user, [d["_id"] for d in found.items if confidential(d)], what)
    return found.items, found.next_cursor


@router.get(
    "/routes/manual",
    response_model=ManualQueuePage,
    summary="The manual dispatch queue (人工派单): cases routing sent to people, oldest first",
)
async def manual_queue(
    user: CurrentUser, routing: RoutingDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Cases whose route is `manual` and not before the joint conference, waiting for a dispatcher
    since their last decision (`decided_at`), each with routing's explanation, `manual_reason` and its
    suggested lead unit (`lead_unit`, assigned to nobody). A dispatcher places one with
    `POST /v1/routes/{case_id}/override`; it then leaves the queue."""
    docs, after = await _page(
        routing, user, MANUAL, sort="decided_at", limit=limit, cursor=cursor, what="manual queue"
    )
    return {"items": [route_view(d) for d in docs], "next_cursor": after}


@router.get(
    "/disputes",
    response_model=DisputePage,
    summary="The joint conference queue (争议管辖): disputed routes, oldest first",
)
async def list_disputes(
    user: CurrentUser, routing: RoutingDeps, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Disputed routes waiting for a decision, by when they were disputed."""
    docs, after = await _page(
        routing, user, DISPUTED, sort="disputed_at", limit=limit, cursor=cursor, what="dispute queue"
    )
    items = [
        {**route_view(d), "disputed_at": d.get("disputed_at"), "dispute_reason": d.get("dispute_reason")}
        for d in docs
    ]
    return {"items": items, "next_cursor": after}
