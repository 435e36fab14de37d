"""Intake's HTTP API: submit a case, read its registration."""

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, status

from dispatch_common.auth import Role, require_roles
from services.intake import handlers
from services.intake.domain.models import Registered, SubmitCase
from services.intake.entrypoints.deps import CurrentUser, IntakeDeps

router = APIRouter(prefix="/v1", tags=["cases"])

SUBMITTERS = (Role.RECEPTION_CLERK, Role.DISPATCHER, Role.EXTERNAL_SYSTEM, Role.ADMIN, Role.SUPERVISOR)
PII_READERS = (Role.RECEPTION_CLERK, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Register a citizen request as a case",
)
async def submit_case(body: SubmitCase, user: CurrentUser, intake: IntakeDeps) -> Registered:
    """Validate, number and store a submission; routing and the rest follow through events."""
    require_roles(user, *SUBMITTERS)
    registered = await handlers.register_case(
        body, cases=intake.cases, clock=intake.clock, keys=intake.keys, county=intake.county
    )
    intake.runtime.nudge()
    return registered


@router.get("/cases/{case_id}", summary="A case's registration, with the petitioner masked")
async def get_case(case_id: str, user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """The registration as intake holds it."""
    require_roles(user, *PII_READERS, Role.COUNTY_LEADER, Role.AUDITOR)
    case = await intake.cases.get(case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    petitioner = case.get("petitioner") or {}
    return {
        "case_id": case["_id"],
        "case_no": case["case_no"],
        "channel": case["channel"],
        "text": case["text"],
        "address": case.get("address"),
        "location": case.get("location"),
        "people_count": case.get("people_count"),
        "status": case["status"],
        "received_at": case["received_at"],
        "petitioner": {
            "anonymous": petitioner.get("anonymous", True),
            "name": (petitioner.get("name") or "")[:1] + "**" if petitioner.get("name") else None,
            "phone": petitioner.get("phone_masked"),
        },
    }


def include(app: FastAPI) -> None:
    """Mount intake's routes."""
    app.include_router(router)
