"""Early warnings (预警) and the 未诉先办 trend report."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from dispatch_common import paging
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.schemas import Trends, Warnings

router = APIRouter(prefix="/v1", tags=["case file"])


@router.get("/warnings", summary="Early warnings (预警), newest first")
async def warnings(
    user: CurrentUser,
    sv: SupervisionDeps,
    kind: Literal["cluster", "repeat", "trend", "crisis", "escalation"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Warnings:
    """The warnings the caller may see, a cursor page at a time (`next_cursor`; null: the last page)."""
    query = (
        {"raised_ts": {"$gte": 0}} | ({"kind": kind} if kind else {}) | sv.confidentiality.list_filter(user)
    )
    found = await paging.page_or_422(
        sv.warnings.warnings,
        query,
        sort="raised_ts",
        limit=limit,
        cursor=cursor,
        descending=True,
        projection={"outbox": 0, "outbox_pending": 0, "version": 0},
    )
    await sv.confidentiality.shown(user, found.items, "warnings")
    items = [{"warning_id": d["_id"], **{k: v for k, v in d.items() if k != "_id"}} for d in found.items]
    return Warnings.model_validate({"items": items, "limit": limit, "next_cursor": found.next_cursor})


@router.get("/warnings/trends", summary="未诉先办: categories above the same month a year before")
async def trends(
    user: CurrentUser,
    sv: SupervisionDeps,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
) -> Trends:
    return Trends.model_validate(
        {"month": month, "rows": await sv.warnings.trend_report(sv.files.rollups, month)}
    )
