"""Mediation's HTTP API for its directory (organizations and mediators) and its figures."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from dispatch_common import etag, paging
from dispatch_common.auth import Principal
from services.mediation import organization_commands
from services.mediation.container import Mediation, refresh_directory
from services.mediation.domain import figures
from services.mediation.domain.documents import DocumentError
from services.mediation.domain.organizations import OrganizationsError
from services.mediation.domain.policy import PolicyError
from services.mediation.entrypoints import schemas
from services.mediation.entrypoints.bodies import NewOrganization, OrganizationChange, Reason
from services.mediation.entrypoints.deps import CHANGED, CurrentUser, Cursor, Limit, MediationDeps, answers

router = APIRouter(prefix="/v1", tags=["directory and figures"])


@router.get(
    "/mediation-organizations",
    summary="The mediation organizations and what they take",
    response_model=schemas.Organizations,
)
async def organizations(
    user: CurrentUser,
    med: MediationDeps,
    type_: Annotated[str | None, Query(alias="type", max_length=16)] = None,
    area: Annotated[str | None, Query(max_length=32, description="serving this area code")] = None,
    active: Annotated[bool | None, Query(description="only those taking (or not taking) mediations")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """From the county package's committees and data/mediation/organizations.json, with the edits
    made over the API; deactivated ones are listed too (`active: false`). By code, a cursor page at
    a time (`next_cursor`; null: the last page); `total` counts every one that matches."""
    matching = [
        o
        for o in sorted(med.rules.directory.organizations.values(), key=lambda o: o.code)
        if (type_ is None or o.type == type_)
        and (area is None or o.jurisdiction == area)
        and (active is None or o.active == active)
    ]
    with answers():
        after = paging.decode(cursor)[0] if cursor else None
    rest = [o for o in matching if after is None or o.code > str(after)]
    page = rest[:limit]
    more = len(rest) > limit
    return {
        "version": med.rules.directory.version,
        "items": [o.model_dump(mode="json") for o in page],
        "limit": limit,
        "next_cursor": paging.encode(page[-1].code, page[-1].code) if more else None,
        "total": len(matching),
    }


async def _organization_view(med: Mediation, code: str, response: Response) -> dict[str, Any]:
    org = med.rules.directory.organizations.get(code)
    if org is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mediation organization {code}")
    override = await med.repo.organization_override(code)
    revision = organization_commands.revision(override)
    etag.send(response, revision)
    return org.model_dump(mode="json") | {"edits": (override or {}).get("edits", []), "revision": revision}


@router.get(
    "/mediation-organizations/{code}",
    summary="One organization, with its edits over the API",
    responses={200: {"headers": etag.ETAG_HEADER}},
    response_model=schemas.OrganizationDetail,
)
async def organization(
    code: str, user: CurrentUser, med: MediationDeps, response: Response
) -> dict[str, Any]:
    """The organization in force and the edits made to it over the API (who, when, which fields). Its
    ETag is its `revision` (how many edits over the API it has had), for `If-Match` on its changes."""
    return await _organization_view(med, code, response)


@router.post(
    "/mediation-organizations",
    status_code=201,
    summary="Create a mediation organization",
    response_model=schemas.OrganizationDetail,
)
async def create_organization(
    body: NewOrganization, user: CurrentUser, med: MediationDeps, response: Response
) -> dict[str, Any]:
    """Admins only (the justice bureau's staff keep the directory). The area, categories and host unit
    must be the county package's (422 per field); a code taken by an organization or a unit is 409."""
    await refresh_directory(med)
    with answers():
        code = await organization_commands.create_organization(
            body.model_dump(), repo=med.repo, directory=med.rules.directory, clock=med.clock, caller=user
        )
    await refresh_directory(med)
    return await _organization_view(med, code, response)


@router.patch(
    "/mediation-organizations/{code}",
    summary="Change a mediation organization",
    responses=CHANGED,
    response_model=schemas.OrganizationDetail,
)
async def change_organization(
    code: str, body: OrganizationChange, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """The fields given change; the others stay (a field of organizations.json never changed here
    follows the file). A committee of the county package changes only its categories and note."""
    await refresh_directory(med)
    with answers(tag.if_match):
        await organization_commands.change_organization(
            code,
            body.model_dump(exclude_unset=True),
            repo=med.repo,
            directory=med.rules.directory,
            clock=med.clock,
            caller=user,
            precondition=tag.require,
        )
    await refresh_directory(med)
    return await _organization_view(med, code, tag.response)


async def _set_active(
    code: str, active: bool, body: Reason, user: Principal, med: Mediation, tag: etag.Version
) -> dict[str, Any]:
    await refresh_directory(med)
    with answers(tag.if_match):
        await organization_commands.set_active(
            code,
            active,
            body.reason,
            repo=med.repo,
            directory=med.rules.directory,
            clock=med.clock,
            caller=user,
            precondition=tag.require,
        )
    await refresh_directory(med)
    view = await _organization_view(med, code, tag.response)
    return view | {"open_mediations": await med.repo.open_count(code)}


@router.post(
    "/mediation-organizations/{code}/deactivate",
    summary="Stop giving an organization mediations",
    responses=CHANGED,
    response_model=schemas.OrganizationActivity,
)
async def deactivate_organization(
    code: str, body: Reason, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """Not a deletion: its mediations, mediators and figures stay readable, its open mediations go on
    (or are moved with `assign`); it is no longer chosen or named for new ones. `open_mediations` says
    how many it still has. The last active organization of a type cannot be deactivated (409)."""
    return await _set_active(code, False, body, user, med, tag)


@router.post(
    "/mediation-organizations/{code}/activate",
    summary="Take an organization back into service",
    responses=CHANGED,
    response_model=schemas.OrganizationActivity,
)
async def activate_organization(
    code: str, body: Reason, user: CurrentUser, med: MediationDeps, tag: etag.Versioned
) -> dict[str, Any]:
    """A deactivated organization takes mediations again."""
    return await _set_active(code, True, body, user, med, tag)


@router.get(
    "/mediation-figures",
    summary="Success rate and average duration per organization or type",
    response_model=schemas.Figures,
)
async def mediation_figures(
    user: CurrentUser,
    med: MediationDeps,
    group_by: Literal["organization", "type"] = "organization",
    from_: Annotated[
        date | None, Query(alias="from", description="first day (county time) of the period")
    ] = None,
    to: Annotated[date | None, Query(description="last day (county time) of the period, included")] = None,
) -> dict[str, Any]:
    """Computed from the mediations concluded in the period (by their outcome's day): a direct query
    on `concluded_ts`, counted here. A unit leader sees its own organization only."""
    tz = med.rules.timezone
    start = datetime.combine(from_, time(0), tzinfo=tz) if from_ else datetime(2000, 1, 1, tzinfo=tz)
    end = (
        datetime.combine(to + timedelta(days=1), time(0), tzinfo=tz)
        if to
        else med.clock.now() + timedelta(days=1)
    )
    docs = await med.repo.concluded_between(int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    if not user.county_wide:
        docs = [d for d in docs if d["organization"]["code"] == user.unit]
    return {
        "group_by": group_by,
        "from": from_,
        "to": to,
        "rows": figures.summarize(docs, group_by),
    }


@router.post(
    "/admin/mediation/reload",
    summary="Load the organizations, mediators, policy and templates again",
    response_model=schemas.Reloaded,
)
async def reload(user: CurrentUser, med: MediationDeps) -> dict[str, Any]:
    """Check the files again and use them; with problems, every one is listed (422) and the rules in
    use stay. New mediators of the seed file are added; those in the directory keep their edits. The
    organizations' API edits are laid over the new data; `edits_not_used` lists those it no longer
    allows (an area or category gone from the package). Every other replica then reloads too
    (`replicas`: which replica applied which versions)."""
    try:
        here = await med.reload_data()
    except (OrganizationsError, PolicyError, DocumentError) as exc:
        detail = [{"loc": ["mediation_data"], "msg": p, "type": "mediation_data"} for p in exc.problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from exc
    assert med.reloads is not None
    return {**here, "replicas": await med.reloads.everywhere(here, requested_by=user.subject)}
