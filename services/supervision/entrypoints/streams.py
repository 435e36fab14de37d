"""Supervision's live streams (server-sent events): a worklist's changes, a case's new timeline entries,
the board's figures. The mechanism is dispatch_common/live.py; what an event becomes, live.py and
board.py beside the entrypoints; the wire format and the events, docs/api.md (Live streams)."""

from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from sse_starlette import EventSourceResponse

from dispatch_common.auth import Principal
from dispatch_common.live import Item, Wants
from dispatch_common.live_http import (
    STREAM_ROUTE,
    LastEventId,
    Message,
    View,
    available,
    stream,
    streams_router,
)
from services.supervision.container import Supervision
from services.supervision.entrypoints.cases import _visible
from services.supervision.entrypoints.deps import CurrentUser, SupervisionDeps
from services.supervision.live import change

router = streams_router()


def _unit_list(sv: Supervision, user: Principal, unit: str) -> tuple[Wants, View]:
    """One unit's worklist: the cases it is on now, and those it just left."""
    everyone_sees = unit != user.unit and not sv.confidentiality.reads_every_report(user)

    def wants(item: Item) -> bool:
        c = change(item)
        on_it = unit in c.units or unit in c.left
        return c.line is not None and on_it and not (everyone_sees and c.confidential)

    async def view(item: Item) -> list[Message]:
        c = change(item)
        assert c.line is not None
        if unit not in c.units:
            line = c.line
            return [("removed", {k: line[k] for k in ("case_id", "case_no", "event", "at")} | {"unit": unit})]
        shown = c.line | {"unit": unit, "role": c.units[unit]}
        await sv.confidentiality.shown(user, [shown], "worklist stream")
        return [("case", shown)]

    return wants, view


def _county_list(sv: Supervision, user: Principal) -> tuple[Wants, View]:
    """Every case the caller may see, as `GET /v1/cases` lists them."""
    readers_only = not sv.confidentiality.reads_every_report(user)

    def wants(item: Item) -> bool:
        c = change(item)
        if c.line is None or (readers_only and c.confidential):
            return False
        return sv.confidentiality.may_see(
            user, unit_codes=c.units, area_codes=c.areas, confidential=c.confidential
        )

    async def view(item: Item) -> list[Message]:
        c = change(item)
        assert c.line is not None
        shown = c.line | {"unit": None, "role": None}
        await sv.confidentiality.shown(user, [shown], "worklist stream")
        return [("case", shown)]

    return wants, view


@router.get(
    "/worklist",
    summary="A worklist's changes, live: cases entering, changing, leaving",
    **STREAM_ROUTE,
)
async def worklist_stream(
    user: CurrentUser,
    sv: SupervisionDeps,
    last_event_id: LastEventId = None,
    unit: Annotated[
        str | None, Query(max_length=32, description="for county-wide roles: one unit's list")
    ] = None,
) -> EventSourceResponse:
    """`case` and `removed` events for the caller's unit's list (a county-wide role: the unit it names,
    or every case it may see)."""
    hub = available(sv.live)
    whose = user.unit if not user.county_wide else unit
    if not user.county_wide and not whose:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a unit role needs a unit in its token")
    wants, view = _unit_list(sv, user, whose) if whose else _county_list(sv, user)
    return stream(hub, sv.runtime.settings, last_event_id=last_event_id, wants=wants, view=view)


@router.get(
    "/cases/{case_id}",
    summary="A case's new timeline entries, live",
    response_class=EventSourceResponse,
    responses=STREAM_ROUTE["responses"] | {404: {"description": "No such case, or not the caller's to see"}},
)
async def case_stream(
    case_id: str,
    user: CurrentUser,
    sv: SupervisionDeps,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    """`entry` events: each new entry of the case's timeline, while the caller may read the case."""
    hub = available(sv.live)
    await _visible(sv, case_id, user, "case stream")

    def wants(item: Item) -> bool:
        return change(item).case_id == case_id

    async def view(item: Item) -> list[Message]:
        c = change(item)
        if not sv.confidentiality.may_see(
            user, unit_codes=c.units, area_codes=c.areas, confidential=c.confidential
        ):
            return []  # given to another unit meanwhile: nothing more of it
        if c.confidential:
            await sv.confidentiality.shown(user, [c.entry], "case stream")
        return [("entry", c.entry)]

    return stream(hub, sv.runtime.settings, last_event_id=last_event_id, wants=wants, view=view)


@router.get(
    "/board",
    summary="The center's board figures, live",
    **STREAM_ROUTE,
)
async def board_stream(user: CurrentUser, sv: SupervisionDeps) -> Any:
    """`figures` events: the figures now, then each time they change (checked every few seconds)."""
    if sv.board is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "live updates are not available")
    return sv.board.stream(sv.runtime.settings, "figures")
