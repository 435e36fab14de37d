"""Staff case search: the case files the caller may see, by number, state, unit, place, category,
registration time and free text, newest first, a page at a time."""

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from dispatch_common.auth import Principal, Scope
from services.supervision.domain.policy import to_ms
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.queues import read_page
from services.supervision.entrypoints.schemas import CasePage

router = APIRouter(prefix="/v1", tags=["case file"])

Short = Annotated[str | None, Query(min_length=1, max_length=32)]


def reach(user: Principal) -> dict[str, Any] | None:
    """The part of the county the caller's scope reaches, as a query (None: nothing at all)."""
    if user.county_wide:
        return {}
    # `$in`, not an equality: the embedded server matches an equality on an indexed array field
    # against scalar values only (docs/architecture.md, known gaps)
    mine = [{"unit_codes": {"$in": [user.unit]}}] if user.unit else []
    if user.scope in (None, Scope.AREA) and user.area:
        mine.append({"area_codes": {"$in": [user.area]}})
    if not mine:
        return None
    return mine[0] if len(mine) == 1 else {"$or": mine}


def search_query(
    *,
    case_no: str | None,
    status: str | None,
    unit: str | None,
    town: str | None,
    category: str | None,
    received_from: datetime | None,
    received_to: datetime | None,
    q: str | None,
) -> dict[str, Any]:
    """The caller's criteria as one query of equalities, one range and a substring match."""
    where: dict[str, Any] = {"received_ts": {"$gte": 0}}
    if received_from is not None:
        where["received_ts"]["$gte"] = to_ms(received_from)
    if received_to is not None:
        where["received_ts"]["$lte"] = to_ms(received_to)
    for field, value in (
        ("case_no", case_no),
        ("status", status),
        ("jurisdiction.town", town),
        ("category.code", category),
    ):
        if value:
            where[field] = value
    if unit:
        where["unit_codes"] = {"$in": [unit]}
    if q:
        where["search_text"] = {"$regex": re.escape(q)}
    return where


@router.get(
    "/cases", summary="Search the case files the caller may see, newest first", response_model=CasePage
)
async def search_cases(
    user: CurrentUser,
    sv: SupervisionDeps,
    case_no: Annotated[
        str | None, Query(min_length=1, max_length=40, description="the number exactly")
    ] = None,
    status: Short = None,
    unit: Annotated[str | None, Query(min_length=1, max_length=32, description="lead or assisting")] = None,
    town: Short = None,
    category: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
    received_from: AwareDatetime | None = None,
    received_to: AwareDatetime | None = None,
    q: Annotated[
        str | None, Query(min_length=2, max_length=100, description="words in the case's text")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """A petitioner calling back with the number on their SMS, a unit looking for a case it worked on,
    a supervisor looking at a place or a category. Confidential reports only to the roles that read
    every report; the ones shown are audited. By the petitioner's phone or ID number: intake's audited
    petitioner history, not here."""
    scope = reach(user)
    if scope is None:
        return {"items": [], "next_cursor": None, "limit": limit}
    criteria = search_query(
        case_no=case_no,
        status=status,
        unit=unit,
        town=town,
        category=category,
        received_from=received_from,
        received_to=received_to,
        q=q,
    )
    fields = {"tier": 1, "channel": 1, "assisting_units": 1, "assigned_at": 1, "replied_at": 1}
    # the cursor's range goes on the top level, beside the criteria
    query = criteria | ({"$and": [scope]} if scope else {})
    return await read_page(
        sv,
        user,
        query,
        sort="received_ts",
        limit=limit,
        cursor=cursor,
        fields=fields,
        what="case search",
        descending=True,
    )
