"""The daily inspection (网巡) as supervisors read it: the day's report and its lists, by cursor."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from dispatch_common import paging
from dispatch_common.auth import Principal
from services.supervision.container import Supervision
from services.supervision.entrypoints.deps import CurrentUser, Cursor, SupervisionDeps
from services.supervision.entrypoints.schemas import Inspection, InspectionList
from services.supervision.inspection import LISTS, county_day

router = APIRouter(prefix="/v1/inspection", tags=["daily inspection"])

ListName = Literal["overdue", "irregular", "stuck", "ledger"]
PageSize = Annotated[int, Query(ge=1, le=1000)]
Day = Annotated[date | None, Query(alias="date", description="the county day; today when absent")]


async def _report(sv: Supervision, day: date | None) -> dict[str, Any]:
    """The day's stored report; today's is compiled now if the morning's has not run yet."""
    now = sv.clock.now()
    today = county_day(now, sv.keeper.timezone)
    day = day or today
    report = await sv.inspections.report(day)
    if report is None and day == today:  # asked before the morning's run: that is the day's
        ledger = sv.ledger.book if sv.ledger is not None else None
        report = await sv.inspections.compile(
            sv.files, day=day, now=now, stuck_after=sv.stuck.after, ledger=ledger
        )
        if report is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the inspection is being compiled")
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no inspection of {day.isoformat()}")
    return report


async def _page(
    sv: Supervision, user: Principal, day: str, name: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    query: dict[str, Any] = {"day": day, "list": name, "seq": {"$gte": 0}}
    if not sv.confidentiality.reads_every_report(user):
        # an equality: the embedded server misses entries with `$ne: true` beside this range (measured)
        query["confidential"] = False
    found = await paging.page_or_422(sv.inspections.items, query, sort="seq", limit=limit, cursor=cursor)
    await sv.confidentiality.shown(user, found.items, "inspection")
    hidden = ("_id", "day", "list", "seq")
    return [{k: v for k, v in d.items() if k not in hidden} for d in found.items], found.next_cursor


@router.get(
    "",
    summary="The daily inspection (网巡): its counts and the first page of each list",
    response_model=Inspection,
)
async def inspection(
    user: CurrentUser, sv: SupervisionDeps, day: Day = None, limit: PageSize = 200
) -> dict[str, Any]:
    """Open cases past a limit (`overdue`), cases out of the normal course (`irregular`: in the manual
    queue or waiting for the joint conference more than a day, reopened twice or more) and cases
    stuck between two automatic steps (`stuck`) and open risk-ledger entries past their limit
    (`ledger`, by `entry_id`), as compiled that morning. `counts` says how many
    each list holds for the caller; `next_cursors` reads on with `GET /v1/inspection/{list}`."""
    report = await _report(sv, day)
    key = report["_id"]
    out: dict[str, Any] = {
        "date": key,
        "compiled_at": report["compiled_at"],
        "counts": {},
        "next_cursors": {},
    }
    reads_all = sv.confidentiality.reads_every_report(user)
    for name in LISTS:
        items, out["next_cursors"][name] = await _page(sv, user, key, name, limit, None)
        out[name] = items
        hidden = 0 if reads_all else report["confidential_counts"].get(name, 0)
        out["counts"][name] = report["counts"].get(name, 0) - hidden  # a report from before a list: 0
    return out


@router.get(
    "/{list_name}",
    summary="One list of the daily inspection, a page at a time",
    response_model=InspectionList,
)
async def inspection_list(
    list_name: ListName,
    user: CurrentUser,
    sv: SupervisionDeps,
    day: Day = None,
    limit: PageSize = 200,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """`overdue`, `irregular`, `stuck` or `ledger` of the day's inspection, in the order it was compiled."""
    report = await _report(sv, day)
    items, next_cursor = await _page(sv, user, report["_id"], list_name, limit, cursor)
    return {
        "date": report["_id"],
        "list": list_name,
        "items": items,
        "next_cursor": next_cursor,
        "limit": limit,
    }
