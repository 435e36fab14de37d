"""The risk ledger over HTTP (排查台账): entries opened by grid workers, towns and dispatchers (or from
a warning), worked on by their owner unit, closed by a reviewer on their evidence; the entries of a
case; the joint meeting's figures."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from dispatch_common import etag, paging, store
from dispatch_common.problems import Problem
from services.supervision.domain import ledger as rules
from services.supervision.domain.ledger_figures import figures as compute_figures
from services.supervision.domain.ledger_parties import party_shown
from services.supervision.entrypoints.deps import CurrentUser, Cursor, Limit, SupervisionDeps
from services.supervision.entrypoints.ledger_schemas import (
    CaseLinkIn,
    CloseRequestIn,
    Entry,
    EntryIn,
    EntryPage,
    Figures,
    ReviewIn,
    StepIn,
)
from services.supervision.ledger import AlreadyOpened, EntryNotFound, Invalid, Ledger

router = APIRouter(prefix="/v1", tags=["risk ledger"])
CHANGED: dict[int | str, dict[str, Any]] = {
    200: {"description": "the entry after the change", "headers": etag.ETAG_HEADER},
    412: {"description": "If-Match names a version of the entry that is no longer current"},
}


def _ledger(sv: SupervisionDeps) -> Ledger:
    assert sv.ledger is not None
    return sv.ledger


@contextmanager
def _answers() -> Iterator[None]:
    """The ledger's refusals as problems."""
    try:
        yield
    except Invalid as exc:
        errors = [{"loc": exc.loc, "msg": exc.msg, "type": "value_error"}]
        raise Problem(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.msg, errors=errors) from exc
    except EntryNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except rules.NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except rules.LedgerConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except AlreadyOpened as exc:
        raise Problem(status.HTTP_409_CONFLICT, str(exc), code="already_opened") from exc
    except store.VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the entry changed meanwhile; read it again") from exc


def entry_view(ledger: Ledger, doc: dict[str, Any]) -> dict[str, Any]:
    """An entry as the API shows it: parties masked, labels from the ledger table."""
    policy = ledger.policy
    hidden = {"_id", "parties", "outbox", "outbox_pending", "outbox_written", "alarms_fired", "deadlines"}
    return {k: v for k, v in doc.items() if k not in hidden} | {
        "entry_id": doc["_id"],
        "parties": [party_shown(p) for p in doc.get("parties") or []],
        "kind_label": policy.kinds.get(doc["kind"], doc["kind"]),
        "risk_level_label": policy.levels[doc["risk_level"]].label
        if doc["risk_level"] in policy.levels
        else "",
        "status_label": rules.STATUS_LABELS[doc["status"]],
        "overdue": bool(doc.get("overdue")),
        "escalations": doc.get("escalations") or [],
    }


def _answer(ledger: Ledger, doc: dict[str, Any], tag: etag.Version) -> dict[str, Any]:
    tag.send(doc["version"])
    return entry_view(ledger, doc)


@router.post(
    "/ledger/entries",
    status_code=201,
    response_model=Entry,
    responses=CHANGED,
    summary="Open an entry (建账)",
)
async def open_entry(
    body: EntryIn, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """A hidden danger, dispute or risk point found by a screening campaign, a grid patrol, a warning
    (`source.kind` `warning`, `ref` its id: one entry per warning) or a case; placed as a case is, its
    parties sealed, its limit from its risk level unless `due_at` is given."""
    ledger = _ledger(sv)
    with _answers():
        doc = await ledger.open(body.model_dump(exclude_none=True) | {"place": _place(body)}, user)
    sv.runtime.nudge()
    return _answer(ledger, doc, tag)


def _place(body: EntryIn) -> dict[str, Any] | None:
    return body.place.model_dump(exclude_none=True) if body.place else None


@router.get("/ledger/entries", response_model=EntryPage, summary="The ledger's entries, newest first")
async def list_entries(
    user: CurrentUser,
    sv: SupervisionDeps,
    status_: Annotated[
        Literal["opened", "in_progress", "close_requested", "closed"] | None, Query(alias="status")
    ] = None,
    overdue: bool | None = None,
    town: str | None = Query(None, max_length=32),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The entries the caller may see (county staff: all; a town, unit or grid worker: its area's,
    its unit's and its own), a cursor page at a time."""
    ledger = _ledger(sv)
    query: dict[str, Any] = {"opened_ts": {"$gte": 0}} | rules.list_filter(user)
    if status_:
        query["status"] = status_
    if overdue is not None:
        query["overdue_open"] = overdue
    if town:
        query["place.town"] = town
    found = await paging.page_or_422(
        ledger.book.entries, query, sort="opened_ts", limit=limit, cursor=cursor, descending=True
    )
    items = [entry_view(ledger, d) for d in found.items]
    return {"items": items, "next_cursor": found.next_cursor}


@router.get("/ledger/entries/{entry_id}", response_model=Entry, responses=CHANGED, summary="One entry")
async def get_entry(
    entry_id: str, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """The entry with its record, evidence, cases and escalations; `ETag`: its version."""
    ledger = _ledger(sv)
    with _answers():
        doc = await ledger.visible(entry_id, user)
    return _answer(ledger, doc, tag)


async def _act(
    sv: SupervisionDeps, entry_id: str, action: str, body: dict[str, Any], user: Any, tag: etag.Version
) -> dict[str, Any]:
    ledger = _ledger(sv)
    with _answers():
        doc = await ledger.act(entry_id, action, body, user, precondition=tag.require)
    sv.runtime.nudge()
    return _answer(ledger, doc, tag)


@router.post(
    "/ledger/entries/{entry_id}/progress",
    response_model=Entry,
    responses=CHANGED,
    summary="A step of work (化解中)",
)
async def progress_entry(
    entry_id: str, body: StepIn, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """The owner unit (or the creator, or county staff) records what was done and any new measures."""
    return await _act(sv, entry_id, "progress", body.model_dump(), user, tag)


@router.post(
    "/ledger/entries/{entry_id}/close-request",
    response_model=Entry,
    responses=CHANGED,
    summary="Ask to close (申请销账)",
)
async def request_close(
    entry_id: str, body: CloseRequestIn, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """The matter is resolved: what was done and its evidence (at least one piece), for a reviewer."""
    return await _act(sv, entry_id, "request_close", body.model_dump(), user, tag)


@router.post(
    "/ledger/entries/{entry_id}/review",
    response_model=Entry,
    responses=CHANGED,
    summary="Close (销账) or return (退回)",
)
async def review_entry(
    entry_id: str, body: ReviewIn, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """A reviewer who is neither the creator, the requester nor of the owner unit approves the closing
    on its evidence, or returns the entry to be worked on (403 otherwise)."""
    return await _act(sv, entry_id, body.decision, body.model_dump(), user, tag)


@router.post(
    "/ledger/entries/{entry_id}/cases", response_model=Entry, responses=CHANGED, summary="Link a case"
)
async def link_case(
    entry_id: str, body: CaseLinkIn, user: CurrentUser, sv: SupervisionDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """The entry and the case name each other; a case received after the entry was opened counts the
    entry among those that became cases (未诉先办 that did not hold)."""
    ledger = _ledger(sv)
    with _answers():
        doc = await ledger.link_case(entry_id, body.case_id, user, precondition=tag.require)
    sv.runtime.nudge()
    return _answer(ledger, doc, tag)


@router.get(
    "/cases/{case_id}/ledger-entries", response_model=EntryPage, summary="The ledger entries of a case"
)
async def case_entries(case_id: str, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    """Every entry the case is linked to that the caller may see (one page: a case has few)."""
    ledger = _ledger(sv)
    docs = [d for d in await ledger.book.of_case(case_id) if rules.may_see(d, user)]
    return {"items": [entry_view(ledger, d) for d in docs], "next_cursor": None, "total": len(docs)}


@router.get("/ledger/figures", response_model=Figures, summary="The joint meeting's figures (联席会议)")
async def ledger_figures(
    user: CurrentUser,
    sv: SupervisionDeps,
    group_by: Literal["town", "kind", "level", "age"] = "town",
    start: Annotated[
        date | None, Query(description="first county day of the period (entries opened)")
    ] = None,
    end: Annotated[date | None, Query(description="the county day after the period")] = None,
) -> dict[str, Any]:
    """Entries opened in the period by town, kind, level or age: opened, open, closed, closed on time
    (and the rate), open past their limit, and those that later became cases."""
    ledger = _ledger(sv)
    tz = ledger.keeper.timezone

    def moment(day: date | None) -> datetime | None:
        return datetime.combine(day, time(0), tz) if day else None

    docs = await ledger.book.for_figures(moment(start), moment(end))
    out = compute_figures(docs, group_by, ledger.clock.now())
    return out | {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None}
