"""A unit's worklist: its cases as lead or assisting unit, by deadline, a cursor page at a time.

The page is read by keyset (dispatch_common/paging.py) on (`due_key`, line id): a case that leaves
the list, or joins it before the cursor, while a dispatcher reads on does not make the next page skip
or repeat another case, as an offset did."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from dispatch_common import paging
from services.supervision.domain.policy import to_ms
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.schemas import Worklist
from services.supervision.incidents import linked_calls

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
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Worklist:
    """The caller's unit's cases (a county-wide role names the unit), soonest deadline first, those
    with no deadline pending last; `next_cursor` reads on (null: the last page). An incident
    (同一事项) is one line, its lead case's, with `linked_calls` the calls attached to it. `overdue=false`
    includes the lines with no deadline pending, `due_before` leaves them out."""
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
        query["due_key"] = due
    found = await paging.page_or_422(sv.files.worklist, query, sort="due_key", limit=limit, cursor=cursor)
    items = [{k: v for k, v in doc.items() if k not in ("_id", "due_key")} for doc in found.items]
    linked = await linked_calls(sv.files, [item["case_id"] for item in items])
    for item in items:
        item["overdue"] = item.get("due_ts") is not None and item["due_ts"] < (now_ms or 0)
        item["linked_calls"] = linked.get(item["case_id"], 0)
    await sv.confidentiality.shown(user, items, "worklist")
    return Worklist.model_validate(
        {"unit": whose, "items": items, "limit": limit, "next_cursor": found.next_cursor}
    )
