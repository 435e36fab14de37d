"""FastAPI dependencies of intake, as Annotated aliases."""

from typing import Annotated, Any

from fastapi import Depends, Request, status

from dispatch_common.auth import Principal, authenticate
from dispatch_common.problems import Problem
from dispatch_common.ratelimit import retry_after
from services.intake.container import Intake


async def _intake(request: Request) -> Intake:
    return request.app.state.intake


CurrentUser = Annotated[Principal, Depends(authenticate)]
IntakeDeps = Annotated[Intake, Depends(_intake)]


TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many requests from this client: wait `Retry-After` seconds"}
}


def limited(kind: str) -> Any:
    """A route dependency: count the caller's request of this class (`submit` or `read`), and answer
    429 with `Retry-After` beyond the caller's limit (the token's subject is the client)."""

    async def check(user: CurrentUser, intake: IntakeDeps) -> None:
        wait = await intake.limiter.check(kind, user.subject, user.role.value)
        if wait is not None:
            seconds = retry_after(wait)
            raise Problem(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many {kind} requests from this client; retry after {seconds} s",
                detail_zh=f"此客户端的请求过于频繁，请 {seconds} 秒后重试",
                headers={"Retry-After": seconds},
            )

    return Depends(check)
