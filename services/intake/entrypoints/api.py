"""Intake's HTTP API: submit, read a registration, the manual screening queue, rules reload."""

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Response, status

from dispatch_common import etag, paging
from dispatch_common.auth import Principal, Resolver, require_capability
from services.intake import handlers
from services.intake.container import Intake
from services.intake.domain.models import Registered, SubmitCase
from services.intake.domain.protection import reveal_free_text, reveal_petitioner
from services.intake.domain.screening import ScreeningRulesError
from services.intake.entrypoints import lookup, screening, screening_replay
from services.intake.entrypoints.agent_filing import agent_door
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited
from services.intake.entrypoints.schemas import AuditLog, PetitionerHistoryView, Registration, RulesReload
from services.intake.entrypoints.screening_replay_schemas import RulesActivation
from services.intake.entrypoints.views import readable, registration_view, units_on

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
        200: {
            "model": Registered,
            "description": "A retry: the case registered before for this key or external_ref",
        },
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
    door = agent_door(handlers.http_door(intake, body), body, user)
    try:
        submission = await handlers.register_case(
            body,
            intake=intake,
            caller=user,
            idempotency_key=idempotency_key,
            door=door,
        )
    except handlers.IdempotencyConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if submission.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    else:
        intake.runtime.nudge()
    return submission.registered


def resolvers(intake: Intake) -> dict[str, Resolver]:
    """What a unit's scope reaches here: the confidential reports assigned to it, and nothing else."""

    async def case_id(value: str, user: Principal) -> bool:
        case = await intake.cases.cases.find_one({"_id": value}, {"assignment": 1, "confidential": 1})
        if case is None or not case.get("confidential"):
            return False
        return intake.confidentiality.may_see(user, unit_codes=units_on(case), confidential=True)

    return {"case_id": case_id}


@router.get(
    "/cases/{case_id}",
    dependencies=[limited("read")],
    response_model=Registration,
    responses={200: {"headers": etag.ETAG_HEADER}},
    summary="A case's registration; personal data masked unless asked and entitled",
)
async def get_case(
    case_id: str,
    user: CurrentUser,
    intake: IntakeDeps,
    response: Response,
    unmask: Annotated[bool, Query(description="show personal data in clear (audited)")] = False,
    reason: Annotated[str | None, Query(max_length=200, description="why the clear read is needed")] = None,
) -> dict[str, Any]:
    """The registration as intake holds it; `ETag`: its version, for If-Match on its screening."""
    case = await readable(intake, user, case_id, "intake registration" + (" unmasked" if unmask else ""))
    etag.send(response, case["version"])
    if not unmask:
        return registration_view(case)
    if not (case.get("confidential") and user.unit in units_on(case)):  # a report's unit may call back
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
    response_model=AuditLog,
    summary="Who read this case's personal data in clear, and when",
)
async def get_audit(
    case_id: str,
    user: CurrentUser,
    intake: IntakeDeps,
    limit: paging.Limit = 100,
    cursor: paging.Cursor = None,
) -> dict[str, Any]:
    """The PII audit log of a case, oldest first; `next_cursor` reads on (null: the last page)."""
    found = await intake.cases.audit_entries(case_id, limit, cursor)
    items = [{k: v for k, v in doc.items() if k != "_id"} for doc in found.items]
    return {"items": items, "limit": limit, "next_cursor": found.next_cursor}


@router.get(
    "/cases/{case_id}/petitioner-history",
    dependencies=[limited("read")],
    response_model=PetitionerHistoryView,
    response_model_exclude_unset=True,
    summary="The petitioner's earlier cases: counts and outcomes",
)
async def get_petitioner_history(case_id: str, user: CurrentUser, intake: IntakeDeps) -> dict[str, Any]:
    """How often this petitioner has come, repeats, and the last outcome (found by keyed hash)."""
    case = await readable(intake, user, case_id, "petitioner history")
    who = case.get("petitioner_hash")
    if who is None:
        return {"known": False, "reason": "anonymous or no ID number or phone given"}
    keys = tuple(case.get("petitioner_keys") or (who,))  # cases before identity links had one key
    return {"known": True, **await intake.history.petitioner_history(keys)}


@router.post(
    "/admin/screening-rules/reload",
    dependencies=[limited("read")],
    response_model=RulesReload,
    summary="Reload the screening rules; a bad file changes nothing",
)
async def reload_rules(
    user: CurrentUser, intake: IntakeDeps, body: RulesActivation | None = None
) -> dict[str, Any]:
    """Read the rules files again and put them in force if they are valid, in this replica and then in
    every other (`replicas`: which replica applied which version).

    Activation: with a `replay_id`, the rules on disk must be the ones that screening replay tried
    (`409` otherwise, and nothing changes), and the replay's report is recorded as their approval."""
    approval = None
    try:
        if body is not None:
            here, approval = await screening_replay.activate(intake, body, user.subject)
        else:
            here = await intake.reload_rules()
    except ScreeningRulesError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            {"msg": "rules not reloaded; the previous rules stay in force", "problems": exc.problems},
        ) from exc
    assert intake.reloads is not None
    replicas = await intake.reloads.everywhere(here, requested_by=user.subject)
    return {**here, "approval": approval, "replicas": replicas}


def include(app: FastAPI) -> None:
    """Mount intake's routes."""
    app.include_router(router)
    app.include_router(screening.router)
    app.include_router(lookup.router)
    app.include_router(screening_replay.router)
