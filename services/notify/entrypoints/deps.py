"""FastAPI dependencies of notify's routes: the caller and the service."""

from typing import Annotated

from fastapi import Depends, Request

from dispatch_common.auth import Principal, authenticate
from services.notify.container import Notify


async def _notify(request: Request) -> Notify:
    return request.app.state.notify


CurrentUser = Annotated[Principal, Depends(authenticate)]
NotifyDeps = Annotated[Notify, Depends(_notify)]
