"""Intake's HTTP API: submit, read a registration, the manual screening queue, rules reload."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.auth import Principal, Resolver, require_capability
from services.intake import handlers
from services.intake.bootstrap import Intake
from services.intake.domain.models import Registered, SubmitCase
from services.intake.domain.protection import SCREENING_REASON, reveal_free_text, reveal_petitioner
from services.intake.domain.screening import ScreeningResult, ScreeningRulesError
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited

router = APIRouter(prefix="/v1", tags=["cases"], responses=TOO_MANY)

# Who may call each operation, and with which scope: data/policy/authorization.yaml (enforced by
# dispatch_common.auth.authenticate). A unit reads in intake only the confidential reports it is given
# (the discipline-inspection unit reads the reporter's text here; every read is audited).
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


@router.post(
    "/cases",
    dependencies=[limited("submit")],
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
    if body.external_ref is not None and body.external_ref.system != user.system:
        # a reference is the case's identity in the caller's own system, never in another's
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "external_ref.system must be the system your credential names (the token's `system`)",
        )
    try:
        submission = await handlers.register_case(
            body,
            intake=intake,
            caller=user,
            idempotency_key=idempotency_key,
            door=handlers.http_door(intake, body),
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


def _units_on(case: dict[str, Any]) -> list[str]:
    """The units the case is assigned to, as intake learnt from dispatch.case.assigned."""
    assignment = case.get("assignment") or {}
    lead = assignment.get("lead_unit_code")
    return assignment.get("unit_codes") or ([lead] if lead else [])


def resolvers(intake: Intake) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the confidential reports assigned to it, and nothing else."""

    async def case_id(value: str, user: Principal) -> bool:
        case = await intake.cases.cases.find_one({"_id": value}, {"assignment": 1, "confidential": 1})
        if case is None or not case.get("confidential"):
            return False
        return intake.confidentiality.may_see(user, unit_codes=_units_on(case), confidential=True)

    return {"case_id": case_id}


async def _readable(intake: Intake, user: Principal, case_id: str, what: str) -> dict[str, Any]:
    """The case, if the caller may read it (`404` otherwise, as for an absent case); a confidential
    report may be read only by its units and the county's named roles, and each read is audited."""
    case = await intake.cases.get(case_id)
    if case is not None:
        confidential = bool(case.get("confidential"))
        if (confidential or user.county_wide) and await intake.confidentiality.admit(
            user, case_id, unit_codes=_units_on(case), confidential=confidential, what=what
        ):
            return case
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")


@router.get(
    "/cases/{case_id}",
    dependencies=[limited("read")],
    summary="A case's registration; personal data masked unless asked and entitled",
)
async def get_case(
    case_id: str,
    user: CurrentUser,
    intake: IntakeDeps,
    unmask: Annotated[bool, Query(description="show personal data in clear (audited)")] = False,
    reason: Annotated[str | None, Query(max_length=200, description="why the clear read is needed")] = None,
) -> dict[str, Any]:
    """The registration as intake holds it."""
    case = await _readable(intake, user, case_id, "intake registration" + (" unmasked" if unmask else ""))
    if not unmask:
        return registration_view(case)
    if not (case.get("confidential") and user.unit in _units_on(case)):  # a report's unit may call back
        require_capability(user, "unmask")
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


@router.get(
    "/cases/{case_id}/audit",
    dependencies=[limited("read")],
    summary="Who read this case's personal data in clear, and when",
)
async def get_audit(case_id: str, user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """The PII audit log of a case."""
    return {"items": await intake.cases.audit_entries(case_id)}


@router.get(
    "/cases/{case_id}/petitioner-history",
    dependencies=[limited("read")],
    summary="The petitioner's earlier cases: counts and outcomes",
)
async def get_petitioner_history(case_id: str, user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """How often this petitioner has come, repeats, and the last outcome (found by keyed hash)."""
    case = await _readable(intake, user, case_id, "petitioner history")
    who = case.get("petitioner_hash")
    if who is None:
        return {"known": False, "reason": "anonymous or no ID number or phone given"}
    keys = tuple(case.get("petitioner_keys") or (who,))  # cases before identity links had one key
    return {"known": True, **await intake.history.petitioner_history(keys)}


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


@router.get(
    "/screening/queue",
    dependencies=[limited("read")],
    summary="Cases waiting for manual screening, oldest first",
)
async def screening_queue(
    user: CurrentUser,
    intake: IntakeDeps,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The manual screening queue."""
    hidden = intake.confidentiality.list_filter(user)  # a confidential report only to its named roles
    docs = await intake.cases.screening_queue(limit=limit, skip=offset, extra=hidden)
    await intake.confidentiality.shown(user, docs, "screening queue", key="_id")
    return {"items": [registration_view(d) for d in docs]}


@router.post(
    "/cases/{case_id}/screening",
    dependencies=[limited("read")],
    response_model=Registered,
    summary="Screen a case from the manual queue",
)
async def screen_case(
    case_id: str, body: ScreeningDecision, user: CurrentUser, intake: IntakeDeps
) -> Registered:
    """Record a person's screening decision."""
    await _readable(intake, user, case_id, "manual screening")
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
    "/admin/screening-rules/reload",
    dependencies=[limited("read")],
    summary="Reload the screening rules; a bad file changes nothing",
)
async def reload_rules(user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """Read the rules files again and put them in force if they are valid, in this replica and then in
    every other (`replicas`: which replica applied which version)."""
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
