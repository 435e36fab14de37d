"""Notify's HTTP API."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from dispatch_common.auth import Principal, Role, authenticate, require_roles
from services.notify.bootstrap import Notify

router = APIRouter(prefix="/v1", tags=["notifications"])
READERS = (
    Role.DISPATCHER,
    Role.RECEPTION_CLERK,
    Role.SUPERVISOR,
    Role.COUNTY_LEADER,
    Role.AUDITOR,
    Role.ADMIN,
)


async def _notify(request: Request) -> Notify:
    return request.app.state.notify


CurrentUser = Annotated[Principal, Depends(authenticate)]
NotifyDeps = Annotated[Notify, Depends(_notify)]


@router.get("/notifications", summary="Notices of a case, recipients masked")
async def list_notifications(
    user: CurrentUser, notify: NotifyDeps, case_id: Annotated[str, Query(min_length=1, max_length=128)]
) -> dict[str, Any]:
    """Every notice recorded for a case, oldest first."""
    require_roles(user, *READERS)
    cursor = notify.notifications.find({"case_id": case_id}, {"outbox": 0, "contact_token": 0}).sort(
        [("created_at", 1)]
    )
    items = [
        {
            "id": d["_id"],
            "case_id": d["case_id"],
            "kind": d["kind"],
            "channel": d["channel"],
            "recipient": d["recipient"],
            "status": d["status"],
            "attempts": d.get("attempts", 0),
            "sent_at": d.get("sent_at"),
            "body": d.get("body"),
            "channel_reason": d.get("channel_reason"),
        }
        async for d in cursor
    ]
    return {"items": items}


def include(app: FastAPI) -> None:
    """Mount notify's routes."""
    app.include_router(router)
