"""FastAPI dependencies of mediation's routes, and the one place errors become HTTP answers."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from dispatch_common import store
from dispatch_common.auth import Principal, authenticate
from services.mediation.bootstrap import Mediation
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
# The operation a request calls, as the audit of clear reads names it: `GET /v1/mediations/{mediation_id}`.
Endpoint = Annotated[str, Depends(_endpoint)]


@contextmanager
def answers() -> Iterator[None]:
    """404 for what the caller may not see, 403 for what they may not do, 409 for the wrong state,
    422 for fields the county package does not allow (each with where and why, never the value)."""
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
    except store.VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "it changed meanwhile; read it again") from exc
