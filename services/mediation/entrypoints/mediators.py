"""Mediation's HTTP API for its mediators: who they are, their load, and their edits."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import ValidationError

from dispatch_common import etag
from dispatch_common.auth import Principal
from services.mediation.container import Mediation
from services.mediation.domain.mediators import Mediator, check_mediator
from services.mediation.entrypoints import schemas
from services.mediation.entrypoints.bodies import MediatorChange
from services.mediation.entrypoints.deps import CHANGED, CurrentUser, Cursor, Limit, MediationDeps, answers

router = APIRouter(prefix="/v1", tags=["directory and figures"])


def _view(doc: dict[str, Any], load: int) -> dict[str, Any]:
    return {**{k: v for k, v in doc.items() if k != "_id"}, "load": load}


@router.get("/mediators", summary="Mediators with their current load", response_model=schemas.Mediators)
async def mediators(
    user: CurrentUser,
    med: MediationDeps,
    organization: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """By id, a cursor page at a time (`next_cursor`; null: the last page). The load of each mediator
    is counted from the open mediations they carry."""
    with answers():
        found = await med.repo.mediators_page(organization, limit, cursor)
    loads: dict[str, int] = {}
    for org in {d["organization"] for d in found.items}:
        loads |= await med.repo.loads(org)
    items = [_view(d, loads.get(d["id"], 0)) for d in found.items]
    return {"items": items, "limit": limit, "next_cursor": found.next_cursor}


def _may_edit(user: Principal, organization: str) -> None:
    """Admins (county scope) edit every mediator; an organization's leader (unit scope) its own: the
    justice bureau's staff and each committee's director keep the directory."""
    if user.county_wide or user.unit == organization:
        return
    raise HTTPException(
        status.HTTP_403_FORBIDDEN, f"role {user.role} may not edit mediators of {organization}"
    )


def _checked(med: Mediation, mediator: Mediator) -> None:
    problems = check_mediator(mediator, med.rules.directory)
    if problems:
        detail = [{"loc": ["body"], "msg": p, "type": "mediator"} for p in problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


@router.post(
    "/mediators",
    status_code=201,
    summary="Add a mediator",
    responses={201: {"headers": etag.ETAG_HEADER}},
    response_model=schemas.MediatorView,
)
async def add_mediator(
    body: Mediator, user: CurrentUser, med: MediationDeps, response: Response
) -> dict[str, Any]:
    _may_edit(user, body.organization)
    _checked(med, body)
    if med.rules.directory.active(body.organization) is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"organization {body.organization} is deactivated: no new mediators"
        )
    if not await med.repo.add_mediator(body.model_dump()):
        raise HTTPException(status.HTTP_409_CONFLICT, f"mediator {body.id} exists")
    etag.send(response, 1)
    return _view(body.model_dump() | {"version": 1}, 0)


@router.get(
    "/mediators/{mediator_id}",
    summary="One mediator with its load",
    responses={200: {"headers": etag.ETAG_HEADER}},
    response_model=schemas.MediatorView,
)
async def get_mediator(
    mediator_id: str, user: CurrentUser, med: MediationDeps, response: Response
) -> dict[str, Any]:
    """A mediator; the ETag is its `version`, for `If-Match` on its change."""
    current = await med.repo.mediator(mediator_id)
    if current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediator {mediator_id}")
    etag.send(response, current["version"])
    return _view(current, (await med.repo.loads(current["organization"])).get(mediator_id, 0))


@router.patch(
    "/mediators/{mediator_id}",
    summary="Change a mediator: availability, load, specialties",
    responses=CHANGED,
    response_model=schemas.MediatorView,
)
async def change_mediator(
    mediator_id: str, body: MediatorChange, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """The fields given change; with `If-Match`, only the version it names is changed (else 412)."""
    current = await med.repo.mediator(mediator_id)
    if current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediator {mediator_id}")
    _may_edit(user, current["organization"])
    tag.require(current["version"])
    changes = body.model_dump(exclude_none=True)
    try:
        merged = Mediator.model_validate(
            {k: v for k, v in (current | changes).items() if k not in ("_id", "version")}
        )
    except ValidationError as exc:  # field and reason, never the submitted value
        detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from exc
    _checked(med, merged)
    with answers(tag.if_match):
        saved = await med.repo.save_mediator(current, changes)
    tag.send(saved["version"])
    loads = await med.repo.loads(saved["organization"])
    return _view(saved, loads.get(mediator_id, 0))
