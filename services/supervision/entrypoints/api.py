"""Supervision's HTTP API: the case file that frontends read."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status

from dispatch_common.auth import Principal, authenticate
from services.supervision.bootstrap import Supervision

router = APIRouter(prefix="/v1", tags=["case file"])


async def _supervision(request: Request) -> Supervision:
    return request.app.state.supervision


CurrentUser = Annotated[Principal, Depends(authenticate)]
SupervisionDeps = Annotated[Supervision, Depends(_supervision)]


def _unit_codes(doc: dict[str, Any]) -> set[str]:
    units = [doc.get("lead_unit"), *list(doc.get("assisting_units") or [])]
    return {u["code"] for u in units if u}


def _area_codes(doc: dict[str, Any]) -> set[str]:
    jurisdiction = doc.get("jurisdiction") or {}
    return {v for k, v in jurisdiction.items() if k in ("town", "village", "grid") and v}


@router.get("/cases/{case_id}", summary="The case file: status, jurisdiction, units, deadlines, timeline")
async def get_case_file(case_id: str, user: CurrentUser, sv: SupervisionDeps) -> dict[str, Any]:
    """One case's file, if the caller's role or unit may see it."""
    doc = await sv.files.get(case_id)
    if doc is None or not user.may_see(unit_codes=_unit_codes(doc), area_codes=_area_codes(doc)):
        # The same answer for "absent" and "not yours": a unit learns nothing of others' cases.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    now = sv.clock.now()
    deadlines = [
        {**d, "remaining_seconds": int((d["due_at"] - now).total_seconds())}
        for d in doc.get("deadlines") or []
    ]
    category = doc.get("category") or {}
    timeline = await sv.files.entries(case_id)
    return {
        "case_id": doc["_id"],
        "case_no": doc["case_no"],
        "status": doc["status"],
        "jurisdiction": doc.get("jurisdiction") or {"town": None, "village": None, "grid": None},
        "category": {"code": category.get("code"), "subcode": category.get("subcode")},
        "flags": doc.get("flags") or [],
        "screening": doc.get("screening"),
        "tier": doc.get("tier"),
        "queue": doc.get("queue"),
        "manual_reason": doc.get("manual_reason"),
        "lead_unit": doc.get("lead_unit"),
        "suggested_lead_unit": doc.get("suggested_lead_unit"),
        "assisting_units": doc.get("assisting_units") or [],
        "received_at": doc.get("received_at"),
        "assigned_at": doc.get("assigned_at"),
        "deadlines": deadlines,
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


def include(app: FastAPI) -> None:
    """Mount supervision's routes."""
    app.include_router(router)
