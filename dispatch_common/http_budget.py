"""A time budget for each request: the caller gets a 503 with `Retry-After`, not its own timeout.

When the store (or the service) cannot keep up, a request waits behind the others. Without a bound,
each operation may wait up to the client's socket timeout (a minute), and the caller's own timeout
(or the ingress's) fires first with no answer at all. `RequestBudget` answers a request that has not
begun its answer within `REQUEST_BUDGET_SECONDS` with `503 busy` and `Retry-After`, and counts it
(`dispatch_http_busy_total`), so clients back off as the production issue's contract says (docs/api.md).

A write under way when the budget ends may still be applied by the store: the problem says so, and a
submission sent again with the same `Idempotency-Key` returns the case it created. Live streams (they
answer at once, then run for hours), the operators' `/v1/admin/` operations and the probes are left alone.
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch_common import http_errors, metrics

BUSY_RETRY_AFTER_SECONDS = 5
UNBOUNDED = ("/v1/streams/", "/v1/admin/", "/healthz", "/readyz", "/metrics")
"""Live streams, operators' long operations (a reprojection of every case file) and the probes."""


def busy(seconds: float) -> http_errors.Problem:
    """The 503 of a request that did not finish within its budget."""
    return http_errors.Problem(
        503,
        f"the service could not answer within {seconds:g} s: it or its database cannot keep up now. "
        "A change may have been stored: read it back, or send a submission again with the same "
        "Idempotency-Key, after Retry-After",
        code="busy",
        detail_zh=f"服务未能在 {seconds:g} 秒内应答：服务或其数据库当前负载过高。本次更改可能已经保存："
        "请在 Retry-After 之后查询确认，或使用同一 Idempotency-Key 重新提交",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )


class RequestBudget:
    """Answer `503 busy` for a request that has not begun its answer within `seconds` (0: no budget)."""

    def __init__(self, app: ASGIApp, *, service: str, seconds: float, root: str | None = None) -> None:
        self.app, self.service, self.seconds = app, service, seconds
        self.root = (root or "").rstrip("/")  # HTTP_ROOT_PATH: the paths arrive with it here

    def _unbounded(self, path: str) -> bool:
        return path.removeprefix(self.root).startswith(UNBOUNDED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.seconds or self._unbounded(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, sending)
        except TimeoutError:
            if started:  # too late for another answer: the server logs it and closes the connection
                raise
            metrics.HTTP_BUSY.labels(self.service).inc()
            await http_errors.answer_asgi(scope, busy(self.seconds))(scope, receive, send)
