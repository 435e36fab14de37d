"""A unit's worklist: its cases as lead or assisting unit, by deadline."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from services.supervision.domain.policy import to_ms
from services.supervision.entrypoints.deps import CurrentUser, SupervisionDeps

router = APIRouter(prefix="/v1", tags=["case file"])


@router.get("/worklist", summary="A unit's cases, as lead or assisting unit, by deadline")
async def worklist(
    user: CurrentUser,
    sv: SupervisionDeps,
    unit: Annotated[str | None, Query(max_length=32, description="for county-wide roles: whose list")] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    town: Annotated[str | None, Query(max_length=32)] = None,
    open_only: Annotated[bool, Query(alias="open")] = True,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """The caller's unit's cases (a county-wide role names the unit), soonest deadline first."""
    whose = user.unit if not user.county_wide else unit
    if not whose:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["query", "unit"], "msg": "name a unit", "type": "missing"}],
        )
    query: dict[str, Any] = {"unit": whose}
    if whose != user.unit:  # another unit's list: its confidential reports only to their named readers
        query |= sv.confidentiality.list_filter(user)
    if open_only:
        query["open"] = True
    if status_:
        query["status"] = status_
    if category:
        query["category"] = category
    if town:
        query["town"] = town
    now_ms = to_ms(sv.clock.now())
    due: dict[str, int] = {}
    if due_before is not None:
        due["$lte"] = to_ms(due_before) or 0
    if overdue is True:
        due["$lt"] = now_ms or 0
    elif overdue is False:
        due["$gte"] = now_ms or 0
    if due:
        query["due_ts"] = due
    cursor = sv.files.worklist.find(query, {"_id": 0}).sort([("due_ts", 1), ("case_no", 1)])
    items = [doc async for doc in cursor.skip(offset).limit(limit)]
    for item in items:
        item["overdue"] = item.get("due_ts") is not None and item["due_ts"] < (now_ms or 0)
    await sv.confidentiality.shown(user, items, "worklist")
    return {"unit": whose, "items": items, "limit": limit, "offset": offset}
