"""Leaders' reception days over HTTP: the calendar, bookings and walk-ins, the cases a 带案下访 takes
along, the receptions recorded with the leader's decisions, and the figures (docs/reception.md).

Every session answers with its version as the ETag; a change sent with If-Match from another version
is refused with 412 and changes nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from dispatch_common import etag, paging, store
from services.supervision import commands, reception
from services.supervision.container import Supervision
from services.supervision.domain import reception as rules
from services.supervision.domain.lifecycle import NotAllowed, NotEntitled
from services.supervision.domain.policy import to_ms
from services.supervision.entrypoints.deps import Code, CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.reception_schemas import (
    BookingRequest,
    Cancellation,
    CasesTaken,
    Figures,
    Kind,
    OpenCasePage,
    ReceptionRequest,
    Session,
    SessionChanges,
    SessionFields,
    SessionPage,
)
from services.supervision.reception_decisions import record

router = APIRouter(
    prefix="/v1/reception",
    tags=["reception"],
    responses={412: {"description": "If-Match names a version of the session that is no longer current"}},
)
HIDDEN = {"outbox": 0, "outbox_pending": 0, "outbox_written_ms": 0}


def view(doc: dict[str, Any]) -> Session:
    out = {k: v for k, v in doc.items() if not k.startswith("outbox") and k not in ("_id", "starts_ts")}
    places = doc["capacity"] - len(rules.places_taken(doc))
    return Session.model_validate(out | {"session_id": doc["_id"], "places_left": max(places, 0)})


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except (reception.SessionNotFound, commands.CaseNotFound, rules.Unknown) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except (rules.Refused, NotAllowed) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except store.VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the session changed meanwhile; read it again") from exc
    except reception.NotOpenInTown as exc:
        errors = [
            {
                "loc": ["body", "case_ids", i],
                "msg": f"not an open case of town {exc.town}",
                "type": "value_error",
            }
            for i in exc.indexes
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors) from exc


def _fields_or_422(fields: dict[str, Any]) -> None:
    problems = rules.check_fields(fields)
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [p.as_error() for p in problems])


def _answer(doc: dict[str, Any], tag: etag.Version) -> Session:
    tag.send(doc["version"])
    return view(doc)


@router.post("/sessions", status_code=201, summary="Plan a reception session (接访/下访/带案下访/视频接访)")
async def create_session(
    body: SessionFields, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    fields = body.model_dump()
    _fields_or_422(fields)
    return _answer(await reception.create(sv, fields, user), tag)


@router.get("/sessions", summary="The reception calendar, by start time")
async def list_sessions(
    user: CurrentUser,
    sv: SupervisionDeps,
    since: Annotated[date | None, Query(alias="from", description="sessions starting on or after")] = None,
    until: Annotated[date | None, Query(alias="to", description="sessions starting before")] = None,
    leader: Code | None = None,
    town: Code | None = None,
    kind: Kind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> SessionPage:
    query: dict[str, Any] = {"starts_ts": _period(sv, since, until)}
    query |= {k: v for k, v in (("leader.id", leader), ("town", town), ("kind", kind)) if v}
    found = await paging.page_or_422(
        sv.sessions.sessions, query, sort="starts_ts", limit=limit, cursor=cursor, projection=HIDDEN
    )
    return SessionPage(items=[view(d) for d in found.items], next_cursor=found.next_cursor)


def _period(sv: Supervision, since: date | None, until: date | None) -> dict[str, int]:
    """A range of start times (integer ms) from county-local days."""
    tz = sv.keeper.timezone
    lower = to_ms(datetime.combine(since, time(), tz)) if since else 0
    out = {"$gte": lower}
    if until:
        out["$lt"] = to_ms(datetime.combine(until, time(), tz)) or 0
    return out


async def _session(sv: Supervision, session_id: str) -> dict[str, Any]:
    doc = await sv.sessions.get(session_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reception session {session_id}")
    return doc


@router.get("/sessions/{session_id}", summary="One reception session, with its bookings and receptions")
async def get_session(
    session_id: str, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    return _answer(await _session(sv, session_id), tag)


@router.patch(
    "/sessions/{session_id}", summary="Change a planned session (time, place, link, topics, capacity)"
)
async def edit_session(
    session_id: str, body: SessionChanges, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    changes = body.model_dump(exclude_unset=True)
    current = await _session(sv, session_id)
    _fields_or_422(current | changes)
    with _answers():
        doc = await reception.change(sv, session_id, reception.edit(sv, changes), tag.require)
    return _answer(doc, tag)


@router.post("/sessions/{session_id}/cancel", summary="Cancel a planned session")
async def cancel_session(
    session_id: str, body: Cancellation, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    def make(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        if doc["status"] != "planned":
            raise rules.Refused(f"a {doc['status']} session is not cancelled")
        changes = {"status": "cancelled", "cancelled_at": sv.clock.now(), "cancel_reason": body.reason}
        return changes, reception.tell_booked(doc, doc, "cancelled", sv)

    with _answers():
        doc = await reception.change(sv, session_id, make, tag.require)
    return _answer(doc, tag)


@router.post("/sessions/{session_id}/bookings", summary="Book a case into a session (409 when it is full)")
async def book_case(
    session_id: str, body: BookingRequest, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    with _answers():
        doc = await reception.book(
            sv, session_id, body.case_id, user, walk_in=False, precondition=tag.require
        )
    return _answer(doc, tag)


@router.post("/sessions/{session_id}/bookings/{booking_id}/cancel", summary="Cancel a booking")
async def cancel_booking(
    session_id: str,
    booking_id: str,
    body: Cancellation,
    user: CurrentUser,
    sv: SupervisionDeps,
    tag: etag.Versioned,
) -> Session:
    with _answers():
        doc = await reception.cancel_booking(sv, session_id, booking_id, body.reason, tag.require)
    return _answer(doc, tag)


@router.post("/sessions/{session_id}/walk-ins", summary="Register a walk-in's case at the session")
async def register_walk_in(
    session_id: str, body: BookingRequest, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    """The case made or found at the window (intake's POST /v1/cases, or the staff search)."""
    with _answers():
        doc = await reception.book(sv, session_id, body.case_id, user, walk_in=True, precondition=tag.require)
    return _answer(doc, tag)


@router.get("/sessions/{session_id}/open-cases", summary="The open cases of a visit's town, to take along")
async def open_cases(
    session_id: str, user: CurrentUser, sv: SupervisionDeps, limit: Limit = 50, cursor: Cursor = None
) -> OpenCasePage:
    session = await _session(sv, session_id)
    if not session.get("town"):
        raise HTTPException(status.HTTP_409_CONFLICT, "the session goes to no town")
    query = reception.open_cases_query(session["town"]) | {"received_ts": {"$gte": 0}}
    found = await paging.page_or_422(
        sv.files.files,
        query,
        sort="received_ts",
        limit=limit,
        cursor=cursor,
        projection={"case_no": 1, "status": 1, "lead_unit": 1, "category": 1, "received_ts": 1},
    )
    items = [
        {"case_id": d["_id"], **{k: d.get(k) for k in ("case_no", "status", "lead_unit", "category")}}
        for d in found.items
    ]
    return OpenCasePage.model_validate({"items": items, "next_cursor": found.next_cursor})


@router.put("/sessions/{session_id}/cases", summary="The open cases a 带案下访 takes along")
async def take_cases(
    session_id: str, body: CasesTaken, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    with _answers():
        doc = await reception.take_cases(sv, session_id, body.case_ids, user, tag.require)
    return _answer(doc, tag)


@router.post("/sessions/{session_id}/receptions", summary="Record a reception and the leader's decision")
async def record_reception(
    session_id: str, body: ReceptionRequest, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> Session:
    """The decision acts on the case: 领导包案 when `holding`, a deadline when `time_limit_days`; the
    petitioner, the lead unit and the units named are told (notify)."""
    payload = body.model_dump()
    if body.decision is not None:
        unknown = [
            {
                "loc": ["body", "decision", "units", i],
                "msg": f"no unit {c} in the county's directory",
                "type": "value_error",
            }
            for i, c in enumerate(body.decision.units)
            if c not in sv.units
        ]
        if unknown:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, unknown)
        units = [{"code": c, "name": sv.units[c].get("name", c)} for c in dict.fromkeys(body.decision.units)]
        payload["decision"]["units"] = units
    with _answers():
        doc = await record(sv, session_id, payload, user, tag.require)
    return _answer(doc, tag)


@router.get("/figures", summary="Sessions held, people received, cases decided and resolved, per leader")
async def reception_figures(
    user: CurrentUser,
    sv: SupervisionDeps,
    since: Annotated[date, Query(alias="from", description="sessions starting on or after (county day)")],
    until: Annotated[date, Query(alias="to", description="sessions starting before (county day)")],
    leader: Code | None = None,
) -> Figures:
    if until <= since or until - since > timedelta(days=366):
        errors = [
            {"loc": ["query", "to"], "msg": "a period after `from`, of at most a year", "type": "value_error"}
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
    query: dict[str, Any] = {"starts_ts": _period(sv, since, until)} | (
        {"leader.id": leader} if leader else {}
    )
    sessions = await sv.sessions.in_period(query)
    decided = {r["case_id"] for s in sessions for r in s.get("receptions") or [] if r.get("decision")}
    cases = {
        d["_id"]: d
        async for d in sv.files.files.find({"_id": {"$in": sorted(decided)}}, {"reply": 1, "mediation": 1})
    }
    return Figures(since=since, until=until, leaders=rules.figures(sessions, cases))
