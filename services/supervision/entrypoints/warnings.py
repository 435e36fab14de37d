"""Early warnings (预警) and the 未诉先办 trend report."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from services.supervision.entrypoints.deps import CurrentUser, SupervisionDeps

router = APIRouter(prefix="/v1", tags=["case file"])


@router.get("/warnings", summary="Early warnings (预警), newest first")
async def warnings(
    user: CurrentUser,
    sv: SupervisionDeps,
    kind: Literal["cluster", "repeat", "trend", "crisis", "escalation"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    query = ({"kind": kind} if kind else {}) | sv.confidentiality.list_filter(user)
    cursor = sv.warnings.warnings.find(query, {"outbox": 0, "outbox_pending": 0, "version": 0})
    items = [doc async for doc in cursor.sort("raised_ts", -1).skip(offset).limit(limit)]
    await sv.confidentiality.shown(user, items, "warnings")
    return {"items": [{"warning_id": d.pop("_id"), **d} for d in items], "limit": limit, "offset": offset}


@router.get("/warnings/trends", summary="未诉先办: categories above the same month a year before")
async def trends(
    user: CurrentUser,
    sv: SupervisionDeps,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
) -> dict[str, Any]:
    return {"month": month, "rows": await sv.warnings.trend_report(sv.files.rollups, month)}
