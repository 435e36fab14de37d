"""FastAPI dependencies of intake, as Annotated aliases."""

from typing import Annotated

from fastapi import Depends, Request

from dispatch_common.auth import Principal, authenticate
from services.intake.bootstrap import Intake


async def _intake(request: Request) -> Intake:
    return request.app.state.intake


CurrentUser = Annotated[Principal, Depends(authenticate)]
IntakeDeps = Annotated[Intake, Depends(_intake)]
