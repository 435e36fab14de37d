"""Intake's HTTP API: submit, read a registration, the manual screening queue, rules reload."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.auth import Role, require_roles
from services.intake import handlers
from services.intake.domain.models import Registered, SubmitCase
from services.intake.domain.protection import SCREENING_REASON, reveal_free_text, reveal_petitioner
from services.intake.domain.screening import ScreeningResult, ScreeningRulesError
from services.intake.entrypoints.deps import CurrentUser, IntakeDeps

router = APIRouter(prefix="/v1", tags=["cases"])

SUBMITTERS = (Role.RECEPTION_CLERK, Role.DISPATCHER, Role.EXTERNAL_SYSTEM, Role.ADMIN, Role.SUPERVISOR)
READERS = (
    Role.RECEPTION_CLERK,
    Role.DISPATCHER,
    Role.SUPERVISOR,
    Role.COUNTY_LEADER,
    Role.AUDITOR,
    Role.ADMIN,
)
# Roles whose work needs the petitioner's identity in clear (calling back, verifying); each read is audited.
PII_READERS = (Role.RECEPTION_CLERK, Role.DISPATCHER, Role.SUPERVISOR)
SCREENERS = (Role.RECEPTION_CLERK, Role.DISPATCHER, Role.SUPERVISOR)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Register a citizen request as a case",
    responses={
        200: {"description": "A retry: the case registered before for this key or external_ref"},
        409: {"description": "The key or external_ref was used with a different request"},
    },
)
async def submit_case(
    body: SubmitCase,
    user: CurrentUser,
    intake: IntakeDeps,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Registered:
    """Validate, number, protect, screen and store a submission; routing and the rest follow by events."""
    require_roles(user, *SUBMITTERS)
    try:
        submission = await handlers.register_case(
            body, intake=intake, caller=user, idempotency_key=idempotency_key
        )
    except handlers.IdempotencyConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if submission.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    else:
        intake.runtime.nudge()
    return submission.registered


def registration_view(
    case: dict[str, Any], *, clear: dict[str, str] | None = None, texts: dict[str, str] | None = None
) -> dict[str, Any]:
    """A stored case as the API shows it: personal data masked unless `clear` holds the petitioner's
    decrypted values and `texts` the clear free-text fields."""
    p = case.get("petitioner") or {}
    clear, texts = clear or {}, texts or {}
    screening = case.get("screening") or {}
    return {
        "case_id": case["_id"],
        "case_no": case["case_no"],
        "channel": case["channel"],
        "text": texts.get("text", case["text"]),
        "text_original": texts.get("text_original", case.get("text_original")),
        "address": texts.get("address", case.get("address")),
        "location": case.get("location"),
        "people_count": case.get("people_count"),
        "status": case["status"],
        "received_at": case["received_at"],
        "external_ref": case.get("external_ref"),
        "police_incident_no": case.get("police_incident_no"),
        "grid_worker": case.get("grid_worker"),
        "campaign": texts.get("campaign", case.get("campaign")),
        "confidential": bool(case.get("confidential")),
        "petitioner": {
            "anonymous": p.get("anonymous", True),
            "name": clear.get("name", p.get("name_masked")),
            "phone": clear.get("phone", p.get("phone_masked")),
            "id_number": clear.get("id_number", p.get("id_masked")),
        },
        "representatives": len(case.get("representatives") or []),
        "screening": {
            k: screening.get(k)
            for k in (
                "outcome",
                "nature",
                "hotline_nature",
                "reason",
                "rule_id",
                "rules_version",
                "transfer_to",
                "answer",
                "screened_by",
                "evidence",
            )
        }
        | {"reason": texts.get(SCREENING_REASON, screening.get("reason"))},
        "links": case.get("links") or {"repeat_of": None, "incident_of": None},
    }


@router.get(
    "/cases/{case_id}", summary="A case's registration; personal data masked unless asked and entitled"
)
async def get_case(
    case_id: str,
    user: CurrentUser,
    intake: IntakeDeps,
    unmask: Annotated[bool, Query(description="show personal data in clear (audited)")] = False,
    reason: Annotated[str | None, Query(max_length=200, description="why the clear read is needed")] = None,
) -> dict[str, Any]:
    """The registration as intake holds it."""
    require_roles(user, *READERS)
    case = await intake.cases.get(case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    if not unmask:
        return registration_view(case)
    require_roles(user, *PII_READERS)
    if not reason or not reason.strip():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["query", "reason"], "msg": "a clear read states why it is needed (it is audited)"}],
        )
    clear = reveal_petitioner(intake.keys, case)
    texts = reveal_free_text(intake.keys, case)  # the phone and ID numbers masked in the free text
    await intake.cases.audit_unmasked_read(
        case_id=case_id,
        subject=user.subject,
        role=user.role.value,
        fields=sorted(clear) + sorted(texts),
        at=intake.clock.now(),
        reason=reason,
    )
    return registration_view(case, clear=clear, texts=texts)


@router.get("/cases/{case_id}/audit", summary="Who read this case's personal data in clear, and when")
async def get_audit(case_id: str, user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """The PII audit log of a case."""
    require_roles(user, Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR)
    return {"items": await intake.cases.audit_entries(case_id)}


@router.get(
    "/cases/{case_id}/petitioner-history", summary="The petitioner's earlier cases: counts and outcomes"
)
async def get_petitioner_history(case_id: str, user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """How often this petitioner has come, repeats, and the last outcome (found by keyed hash)."""
    require_roles(user, *PII_READERS, Role.COUNTY_LEADER)
    case = await intake.cases.get(case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    who = case.get("petitioner_hash")
    if who is None:
        return {"known": False, "reason": "anonymous or no ID number or phone given"}
    return {"known": True, **await intake.history.petitioner_history(who)}


class ScreeningDecision(BaseModel):
    """A person's screening of a case from the manual queue."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal[
        "accepted", "not_accepted", "legal_redirect", "transferred", "emergency_transfer", "answered"
    ]
    nature: Literal["建议意见", "检举控告", "申诉求决"] | None = None
    reason: str = Field(min_length=1, max_length=500)
    transfer_to: str | None = Field(None, max_length=64)
    answer: str | None = Field(None, max_length=2000)


@router.get("/screening/queue", summary="Cases waiting for manual screening, oldest first")
async def screening_queue(
    user: CurrentUser,
    intake: IntakeDeps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The manual screening queue."""
    require_roles(user, *SCREENERS, Role.ADMIN)
    docs = await intake.cases.screening_queue(limit=limit, skip=offset)
    return {"items": [registration_view(d) for d in docs]}


@router.post(
    "/cases/{case_id}/screening", response_model=Registered, summary="Screen a case from the manual queue"
)
async def screen_case(
    case_id: str, body: ScreeningDecision, user: CurrentUser, intake: IntakeDeps
) -> Registered:
    """Record a person's screening decision."""
    require_roles(user, *SCREENERS)
    if body.outcome == "answered" and not body.answer:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            [{"loc": ["body", "answer"], "msg": "an answered consultation needs the answer"}],
        )
    decision = ScreeningResult(
        outcome=body.outcome,
        nature=body.nature,
        hotline_nature=None,
        reason=body.reason,
        rule_id=None,
        rules_version=intake.screening.current.rules.version,
        transfer_to=body.transfer_to,
        answer=body.answer,
        confidential=body.nature in intake.screening.current.rules.file.confidential_natures,
        evidence=[f"screened by {user.role.value}"],
    )
    try:
        done = await handlers.screen_by_hand(case_id, decision, intake=intake, caller=user)
    except handlers.ScreeningNotOpen as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if done is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    intake.runtime.nudge()
    return done


@router.post(
    "/admin/screening-rules/reload", summary="Reload the screening rules; a bad file changes nothing"
)
async def reload_rules(user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """Read the rules files again and put them in force if they are valid, in this replica and then in
    every other (`replicas`: which replica applied which version)."""
    require_roles(user, Role.ADMIN)
    try:
        here = await intake.reload_rules()
    except ScreeningRulesError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            {"msg": "rules not reloaded; the previous rules stay in force", "problems": exc.problems},
        ) from exc
    assert intake.reloads is not None
    return {**here, "replicas": await intake.reloads.everywhere(here, requested_by=user.subject)}


def include(app: FastAPI) -> None:
    """Mount intake's routes."""
    app.include_router(router)
