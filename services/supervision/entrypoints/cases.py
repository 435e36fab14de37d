"""The case file as frontends read it, and its reply document."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.responses import HTMLResponse

from dispatch_common import etag
from dispatch_common.auth import Principal
from services.supervision.container import Supervision
from services.supervision.entrypoints.deps import CurrentUser, SupervisionDeps, _area_codes, _unit_codes
from services.supervision.entrypoints.schemas import CaseFile

router = APIRouter(prefix="/v1", tags=["case file"])


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
        "version": doc["version"],  # the ETag of GET and of every action's answer, for If-Match
        "status": doc["status"],
        "channel": doc.get("channel"),
        "confidential": bool(doc.get("confidential")),  # a report against officials: its readers only
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
        "incident": doc.get("incident") if doc.get("incident_lead") else None,
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


@router.get(
    "/cases/{case_id}",
    summary="The case file: status, jurisdiction, units, deadlines, timeline",
    responses={200: {"headers": etag.ETAG_HEADER}},
)
async def get_case_file(case_id: str, user: CurrentUser, sv: SupervisionDeps, response: Response) -> CaseFile:
    """One case's file, if the caller's role or unit may see it. Its ETag is the file's `version`:
    send it back in `If-Match` with an action so that an action made from a version gone by is
    refused (412) rather than applied over a change the caller has not seen."""
    doc = await _visible(sv, case_id, user)
    etag.send(response, doc["version"])
    return CaseFile.model_validate(case_file_view(doc, await sv.files.entries(case_id), sv.clock.now()))


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
