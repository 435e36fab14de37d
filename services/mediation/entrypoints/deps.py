"""FastAPI dependencies of mediation's routes, and the one place errors become HTTP answers."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from dispatch_common import etag, paging, store
from dispatch_common.auth import Principal, authenticate
from services.mediation.container import Mediation
from services.mediation.domain.lifecycle import NotAllowed, NotEntitled
from services.mediation.opening import MediationNotFound
from services.mediation.organization_commands import FieldProblems, OrganizationNotFound
from services.mediation.referral_commands import ReferralNotFound


async def _mediation(request: Request) -> Mediation:
    return request.app.state.mediation


async def _endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


CurrentUser = Annotated[Principal, Depends(authenticate)]
MediationDeps = Annotated[Mediation, Depends(_mediation)]
Cursor, Limit = paging.Cursor, paging.Limit  # one page size and cursor for every list
# What every change of a versioned record answers besides it: its new version (ETag), and the 412 of
# an If-Match from a version gone by.
CHANGED: dict[int | str, dict[str, Any]] = {
    200: {"headers": etag.ETAG_HEADER},
    412: {"description": "If-Match names a version that is no longer current; nothing was changed"},
}
CHANGED_201: dict[int | str, dict[str, Any]] = {201: CHANGED[200], 412: CHANGED[412]}
# The operation a request calls, as the audit of clear reads names it: `GET /v1/mediations/{mediation_id}`.
Endpoint = Annotated[str, Depends(_endpoint)]


@contextmanager
def answers(if_match: str | None = None) -> Iterator[None]:
    """404 for what the caller may not see, 403 for what they may not do, 409 for the wrong state,
    422 for fields the county package does not allow (each with where and why, never the value) and
    for a cursor the list did not give; a lost race is 412 for a change that named its version
    (`if_match`), else 409."""
    try:
        yield
    except (MediationNotFound, ReferralNotFound, OrganizationNotFound) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except FieldProblems as exc:
        detail = [{"loc": ["body", *loc], "msg": msg, "type": "organization"} for loc, msg in exc.problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from exc
    except NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except NotAllowed as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except paging.BadCursor as exc:
        detail = [{"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from exc
    except store.VersionConflict as exc:
        if if_match is not None:  # a change from a version that another writer has just replaced
            raise HTTPException(
                status.HTTP_412_PRECONDITION_FAILED, "it changed since that version; read it again and retry"
            ) from exc
        raise HTTPException(status.HTTP_409_CONFLICT, "it changed meanwhile; read it again") from exc
