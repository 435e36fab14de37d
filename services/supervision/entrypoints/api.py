"""Supervision's HTTP API: the case file, a unit's worklist, and what units and supervisors do."""

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common import store
from dispatch_common.auth import Principal, Resolver, authenticate
from services.supervision import commands
from services.supervision.bootstrap import Supervision
from services.supervision.domain import kpis as kpi_domain
from services.supervision.domain.lifecycle import NotAllowed, NotEntitled
from services.supervision.domain.policy import to_ms

router = APIRouter(prefix="/v1", tags=["case file"])


async def _supervision(request: Request) -> Supervision:
    return request.app.state.supervision


CurrentUser = Annotated[Principal, Depends(authenticate)]
SupervisionDeps = Annotated[Supervision, Depends(_supervision)]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")]


def _unit_codes(doc: dict[str, Any]) -> set[str]:
    units = [doc.get("lead_unit"), *list(doc.get("assisting_units") or [])]
    return {u["code"] for u in units if u}


def _area_codes(doc: dict[str, Any]) -> set[str]:
    jurisdiction = doc.get("jurisdiction") or {}
    return {v for k, v in jurisdiction.items() if k in ("town", "village", "grid") and v}


def _actions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in a.items()} for a in doc.get("actions") or []]


def case_file_view(doc: dict[str, Any], timeline: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The case file as frontends read it: state, units, deadlines with time left, actions, timeline."""
    deadlines = [
        {
            "kind": d["kind"],
            "label": d["label"],
            "start_at": d.get("start_at"),
            "due_at": d["due_at"],
            "met_at": d.get("met_at"),
            "remaining_seconds": int((d["due_at"] - now).total_seconds()),
            "overdue": d.get("met_at") is None and d["due_at"] < now,
            "extended_days": d.get("extended_days", 0),
            "response_tier": d.get("response_tier"),
            "basis": d.get("basis"),
        }
        for d in doc.get("deadlines") or []
    ]
    category = doc.get("category") or {}
    reply = doc.get("reply")
    return {
        "case_id": doc["_id"],
        "case_no": doc["case_no"],
        "status": doc["status"],
        "channel": doc.get("channel"),
        "jurisdiction": doc.get("jurisdiction") or {"town": None, "village": None, "grid": None},
        "category": {"code": category.get("code"), "subcode": category.get("subcode")},
        "flags": doc.get("flags") or [],
        "screening": doc.get("screening"),
        "tier": doc.get("tier"),
        "queue": doc.get("queue"),
        "manual_reason": doc.get("manual_reason"),
        "lead_unit": doc.get("lead_unit"),
        "suggested_lead_unit": doc.get("suggested_lead_unit"),
        "late_route": doc.get("late_route"),  # a route that came after the reply: recorded, not applied
        "assisting_units": doc.get("assisting_units") or [],
        "received_at": doc.get("received_at"),
        "assigned_at": doc.get("assigned_at"),
        "signed_at": doc.get("signed_at"),
        "replied_at": doc.get("replied_at"),
        "deadlines": deadlines,
        "extension_request": doc.get("extension_request"),
        "reply": {k: v for k, v in reply.items() if k != "document_html"} if reply else None,
        "rating": doc.get("rating"),
        "reopen_count": doc.get("reopen_count", 0),
        "key_case": bool(doc.get("key_case")),
        "leader_holding": doc.get("leader_holding"),
        "joint_supervision": doc.get("joint_supervision"),
        "dispute_reason": doc.get("dispute_reason"),
        "escalations": doc.get("escalations") or [],
        "actions": _actions(doc),
        "timeline": [
            {
                "event_id": e["_id"],
                "type": e["type"],
                "source": e["source"],
                "time": e["time"],
                "summary": e.get("summary") or {},
            }
            for e in timeline
        ],
    }


async def _visible(sv: Supervision, case_id: str, user: Principal, what: str = "case file") -> dict[str, Any]:
    doc = await sv.files.get(case_id)
    if doc is None or not await sv.confidentiality.admit(
        user,
        case_id,
        unit_codes=_unit_codes(doc),
        area_codes=_area_codes(doc),
        confidential=bool(doc.get("confidential")),
        what=what,
    ):
        # The same answer for "absent" and "not yours": a unit learns nothing of others' cases.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    return doc


@router.get("/cases/{case_id}", summary="The case file: status, jurisdiction, units, deadlines, timeline")
async def get_case_file(case_id: str, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    """One case's file, if the caller's role or unit may see it."""
    doc = await _visible(sv, case_id, user)
    return case_file_view(doc, await sv.files.entries(case_id), sv.clock.now())


@router.get(
    "/cases/{case_id}/reply-document",
    summary="The reply (答复意见书) as an HTML page",
    response_class=HTMLResponse,
)
async def reply_document(case_id: str, user: CurrentUser, sv: SupervisionDeps) -> HTMLResponse:
    """The generated reply document of a replied case."""
    doc = await _visible(sv, case_id, user, "reply document")
    reply = doc.get("reply")
    if not reply:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {doc['case_no']} has no reply yet")
    return HTMLResponse(reply["document_html"])


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


class Note(BaseModel):
    """What a person writes with an action."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000)


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)
    visibility: Literal["internal", "public"] = Field(
        "internal",
        description="`public`: the note may be told to the petitioner (一信三反馈) as written; "
        "`internal` (default): a working note for staff only",
    )


class Assistance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: list[Code] = Field(min_length=1, max_length=10)
    note: str = Field(min_length=1, max_length=2000)


class ExtensionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=2, max_length=2000)


class ExtensionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: str = Field(min_length=2, max_length=2000)


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: Literal["resolved", "explained", "not_supported"]
    text: str = Field(min_length=2, max_length=10_000)


class FollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    note: str | None = Field(None, max_length=2000)
    reopen: bool = Field(
        False,
        description="不满意 and the petitioner asks for the matter to be handled again (重办): the case "
        "reopens for its unit (the county's policy may reopen every 不满意)",
    )


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=2000)


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except commands.CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except NotAllowed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except store.VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "the case changed meanwhile; read it again") from exc


async def _act(sv: Supervision, case_id: str, user: Principal, cmd: commands.Command) -> dict[str, Any]:
    with _answers():
        doc = await commands.act(
            case_id,
            cmd,
            caller=user,
            files=sv.files,
            keeper=sv.keeper,
            clock=sv.clock,
            confidential_readers=sv.confidentiality.readers,
        )
    sv.runtime.nudge()
    await sv.confidentiality.shown(user, [doc], f"case file ({cmd.action})", key="_id")
    return case_file_view(doc, await sv.files.entries(case_id), sv.clock.now())


@router.post("/cases/{case_id}/sign", summary="The lead unit signs for the case (签收)")
async def sign(case_id: str, body: Note, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("sign", body.note))


@router.post("/cases/{case_id}/progress", summary="The lead or an assisting unit posts progress")
async def progress(case_id: str, body: Progress, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    """A working note stays internal unless the unit marks it `public` for the petitioner."""
    details = {"visibility": body.visibility}
    return await _act(sv, case_id, user, commands.Command("progress", body.note, details))


@router.post("/cases/{case_id}/assistance", summary="The lead unit asks other units to assist (请求协办)")
async def assistance(
    case_id: str, body: Assistance, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    """The units asked join the case as assisting units: they see it, post progress and have it on
    their worklist. Each must be a unit of the county's directory."""
    unknown = [
        {
            "loc": ["body", "units", i],
            "msg": f"no unit {code} in the county's directory",
            "type": "value_error",
        }
        for i, code in enumerate(body.units)
        if code not in sv.units
    ]
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, unknown)
    units = [sv.units[code] for code in dict.fromkeys(body.units)]
    return await _act(sv, case_id, user, commands.Command("assistance", body.note, {"units": units}))


@router.post("/cases/{case_id}/extension", summary="The lead unit asks for an extension (申请延期), once")
async def extension(
    case_id: str, body: ExtensionRequest, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("extension", body.reason, {"days": body.days}))


@router.post("/cases/{case_id}/extension/decision", summary="A supervisor approves or refuses the extension")
async def extension_decision(
    case_id: str, body: ExtensionDecision, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    return await _act(
        sv, case_id, user, commands.Command("extension_decision", body.reason, {"approve": body.approve})
    )


@router.post(
    "/cases/{case_id}/reply", summary="The lead unit replies (答复/办结); the reply document is made"
)
async def reply(case_id: str, body: Reply, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("reply", body.text, {"result": body.result}))


@router.post("/cases/{case_id}/followup", summary="The petitioner's rating at the follow-up call (回访)")
async def followup(case_id: str, body: FollowUp, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    """满意 and 基本满意 end the follow-up; 不满意 reopens the case with a new handling limit when the
    petitioner asks for it to be handled again (`reopen`) or the county's policy reopens every 不满意;
    otherwise the petitioner may ask for a review (复查)."""
    details = {"rating": body.rating, "reopen": body.reopen}
    return await _act(sv, case_id, user, commands.Command("followup", body.note, details))


@router.post("/cases/{case_id}/close", summary="Close a followed-up or review-answered case (结案)")
async def close(case_id: str, body: Note, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("close", body.note))


@router.post("/cases/{case_id}/review", summary="Record the petitioner's request for a review (复查)")
async def review(case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("review", body.reason))


@router.post("/cases/{case_id}/review/answer", summary="The review's answer (复查意见)")
async def review_answer(case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("review_answer", body.reason))


@router.post("/cases/{case_id}/re-review", summary="Record the petitioner's request for a re-review (复核)")
async def re_review(case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("re_review", body.reason))


@router.post(
    "/cases/{case_id}/re-review/answer", summary="The re-review's answer (复核意见), which closes the case"
)
async def re_review_answer(
    case_id: str, body: Reason, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    return await _act(sv, case_id, user, commands.Command("re_review_answer", body.reason))


class LeaderHolding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leader: str = Field(min_length=1, max_length=100)
    responsibilities: str = Field(min_length=2, max_length=2000)
    plan: str = Field(min_length=2, max_length=10_000, description="一案一策: the plan for this case")


class JointSupervision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    with_: str = Field(
        alias="with", min_length=1, max_length=100, description="e.g. the discipline inspection"
    )
    reason: str = Field(min_length=2, max_length=2000)


class Recommendation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["improve_work", "improve_policy", "accountability"]
    text: str = Field(min_length=2, max_length=10_000)
    case_id: str | None = Field(None, max_length=64)


@router.post("/cases/{case_id}/leader-holding", summary="A leader holds a key case (领导包案, 一案一策)")
async def leader_holding(
    case_id: str, body: LeaderHolding, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    details = {"leader": body.leader, "responsibilities": body.responsibilities, "plan": body.plan}
    return await _act(sv, case_id, user, commands.Command("leader_holding", None, details))


@router.post(
    "/cases/{case_id}/joint-supervision", summary="Supervise jointly with discipline inspection (信访+纪检)"
)
async def joint_supervision(
    case_id: str, body: JointSupervision, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    return await _act(
        sv, case_id, user, commands.Command("joint_supervision", body.reason, {"with": body.with_})
    )


@router.post(
    "/units/{unit}/recommendations",
    summary="Use a recommendation power on a unit (三项建议权)",
    status_code=201,
)
async def recommend(
    unit: str, body: Recommendation, user: CurrentUser, sv: SupervisionDeps
) -> dict[str, Any]:
    """改进工作, 完善政策 or 追究责任, recorded against the unit and announced."""
    doc = await commands.recommend(
        unit, body.kind, body.text, body.case_id, caller=user, files=sv.files, clock=sv.clock
    )
    sv.runtime.nudge()
    return {k: v for k, v in doc.items() if k not in ("outbox", "outbox_pending", "version")}


@router.get("/units/{unit}/recommendations", summary="The recommendations recorded against a unit")
async def recommendations(unit: str, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    if not user.county_wide and user.unit != unit:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recommendations for {unit}")
    cursor = sv.files.recommendations.find({"unit": unit}, {"outbox": 0, "outbox_pending": 0, "version": 0})
    return {"unit": unit, "items": [doc async for doc in cursor.sort("at", 1)]}


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


@router.get("/kpis", summary="The figures the county is judged by, grouped and over a period of months")
async def kpis_view(
    user: CurrentUser,
    sv: SupervisionDeps,
    group_by: Literal["unit", "town", "category", "tier", "period"] = "unit",
    from_: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    to: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    town: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    tier: Annotated[str | None, Query(max_length=16)] = None,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """响应率, 按期办结率, 解决率, 满意率, 化解率, repeat rate and average handling time, counted by the
    month of assignment; a unit leader sees its own unit only. `format=csv` exports the table."""
    if not user.county_wide:
        if not user.unit:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a unit role needs a unit in its token")
        unit = user.unit
    query: dict[str, Any] = {}
    period: dict[str, str] = {}
    if from_:
        period["$gte"] = from_
    if to:
        period["$lte"] = to
    if period:
        query["period"] = period
    for field, value in (("unit", unit), ("town", town), ("category", category), ("tier", tier)):
        if value:
            query[field] = value
    found = await sv.files.rollup_rows(query)
    if not sv.confidentiality.reads_every_report(user):  # a unit's own reports stay in its own figures
        found = [r for r in found if not r.get("confidential") or r.get("unit") == user.unit]
    rows = kpi_domain.summarize(found, group_by)
    if format_ == "csv":
        return Response(
            _csv(rows, group_by),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kpis.csv"'},
        )
    return {"group_by": group_by, "from": from_, "to": to, "rows": rows}


def _csv(rows: list[dict[str, Any]], group_by: str) -> str:
    out = io.StringIO()
    rates = [
        "assigned",
        "response_rate",
        "on_time_reply_rate",
        "resolution_rate",
        "satisfaction_rate",
        "dispute_resolution_rate",
        "repeat_rate",
        "average_handling_hours",
    ]
    writer = csv.writer(out)
    writer.writerow([group_by, *rates])
    for row in rows:
        writer.writerow([row[group_by], *("" if row[r] is None else row[r] for r in rates)])
    return out.getvalue()


@router.post("/admin/reproject", summary="Rebuild the worklist and KPI rollups from the case files")
async def reproject(user: CurrentUser, sv: SupervisionDeps) -> dict[str, int]:
    """After a crash between a case file and its projections, or a change of their shape."""
    return await sv.files.reproject(sv.keeper.timezone)


def resolvers(sv: Supervision) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the case files it may see, its own unit's records."""

    async def case_id(value: str, user: Principal) -> bool:
        doc = await sv.files.files.find_one(
            {"_id": value}, {"lead_unit": 1, "assisting_units": 1, "jurisdiction": 1, "confidential": 1}
        )
        return doc is not None and sv.confidentiality.may_see(
            user,
            unit_codes=_unit_codes(doc),
            area_codes=_area_codes(doc),
            confidential=bool(doc.get("confidential")),
        )

    async def unit(value: str, user: Principal) -> bool:
        return value == user.unit

    return {"case_id": case_id, "unit": unit}


def include(app: FastAPI) -> None:
    """Mount supervision's routes."""
    from services.supervision.entrypoints import inspection, queues, search

    app.include_router(search.router)
    app.include_router(router)
    app.include_router(queues.router)
    app.include_router(inspection.router)
