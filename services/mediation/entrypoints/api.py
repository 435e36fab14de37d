"""Mediation's HTTP API."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status

from dispatch_common.auth import Principal, authenticate
from services.mediation.bootstrap import Mediation

router = APIRouter(prefix="/v1", tags=["mediations"])


async def _mediation(request: Request) -> Mediation:
    return request.app.state.mediation


CurrentUser = Annotated[Principal, Depends(authenticate)]
MediationDeps = Annotated[Mediation, Depends(_mediation)]


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "case_id": doc["case_id"],
        "case_no": doc.get("case_no"),
        "organization": doc["organization"],
        "mediator": doc.get("mediator"),
        "type": doc["type"],
        "status": doc["status"],
        "sessions": doc.get("sessions") or [],
        "outcome": doc.get("outcome"),
        "opened_at": doc["opened_at"],
    }


@router.get("/mediations", summary="Mediations of a case")
async def list_mediations(
    user: CurrentUser, med: MediationDeps, case_id: Annotated[str, Query(min_length=1, max_length=128)]
) -> dict[str, Any]:
    """The mediations the caller may see for one case."""
    docs = [d async for d in med.mediations.find({"case_id": case_id}, {"outbox": 0}).limit(100)]
    visible = [d for d in docs if user.may_see(unit_codes={d["organization"]["code"]})]
    return {"items": [_view(d) for d in visible]}


@router.get("/mediations/{mediation_id}", summary="One mediation")
async def get_mediation(mediation_id: str, user: CurrentUser, med: MediationDeps) -> dict[str, Any]:
    """A mediation record by id."""
    doc = await med.mediations.find_one({"_id": mediation_id}, {"outbox": 0})
    if doc is None or not user.may_see(unit_codes={doc["organization"]["code"]}):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediation {mediation_id}")
    return _view(doc)


def include(app: FastAPI) -> None:
    """Mount mediation's routes."""
    app.include_router(router)
