"""The shell's exception handlers: every error a request can meet becomes one problem+json answer.

`HTTPException` (the services' and Starlette's own 404 and 405), `Problem`, `RequestValidationError`,
a database that does not answer (503 with Retry-After) and any unexpected exception (500, with a
generic detail: the exception is logged with the request's trace, never sent). A part of an app that
answers in a format of its own (intake's Open311 door, by the GeoReport specification) registers it
with `foreign_errors`, and the shell's errors on its paths are rendered that way.
"""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pymongo.errors import ConnectionFailure, ExecutionTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from dispatch_common import metrics
from dispatch_common.problems import (
    PROBLEM_JSON,
    Problem,
    field_errors,
    from_http_detail,
    invalid,
    wants_chinese,
)

STORE_RETRY_AFTER_SECONDS = 5
ForeignRenderer = Callable[[str, Problem], Response]
"""Renders an error in a part's own format: (path, problem) -> response."""


def store_unavailable() -> Problem:
    """The 503 of a database that does not answer: nothing was changed, try again."""
    return Problem(
        503,
        "the service's database does not answer; nothing was changed by this request, try again",
        code="store_unavailable",
        detail_zh="服务的数据库暂无响应；本次请求未作任何更改，请稍后重试",
        headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )


def too_large(max_bytes: int) -> Problem:
    """The 413 of a request body over the service's limit."""
    return Problem(
        413, f"request body over {max_bytes} bytes", detail_zh=f"请求体超过 {max_bytes} 字节的上限"
    )


INTERNAL = Problem(
    500,
    "an unexpected error; it is logged with this request's trace, and nothing more is told here",
    detail_zh="服务器发生意外错误，已记入日志；此处不透露更多信息",
)


def _shell_default(status: int, request: Request, headers: dict[str, str]) -> Problem | None:
    """The shell's own wording for Starlette's bare 404 (no such path) and 405 (method)."""
    if status == 404:
        return Problem(404, "nothing is served at this path", detail_zh="此路径下没有任何接口")
    if status == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        return Problem(
            405,
            f"{request.method} is not allowed at this path; allowed: {allowed}",
            detail_zh=f"此路径不支持 {request.method}；支持：{allowed}",
            headers=headers,
        )
    return None


def route_path(scope: Scope) -> str:
    """The request's path without the prefix it is served under (ServedUnder's root path)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def render(scope: Scope, headers_in: dict[str, str], problem: Problem) -> Response:
    """The problem as this request should get it: problem+json in the caller's language, or the
    format of the part of the app the path belongs to."""
    app = scope.get("app")
    path = route_path(scope)
    for prefix, renderer in getattr(getattr(app, "state", None), "foreign_errors", ()):
        if path.startswith(prefix):
            return renderer(path, problem)
    chinese = wants_chinese(headers_in.get("accept-language"))
    headers = problem.headers | {
        "Content-Language": "zh" if chinese else "en",
        "Vary": "Accept-Language",
        "Cache-Control": "no-store",  # a 500 is answered outside the middleware that sets it elsewhere
    }
    return JSONResponse(problem.body(chinese), problem.status, media_type=PROBLEM_JSON, headers=headers)


def answer_asgi(scope: Scope, problem: Problem) -> Response:
    """The problem answer of a request seen by an ASGI middleware (its raw headers)."""
    language = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
    return render(scope, {"accept-language": language}, problem)


def answer(request: Request, problem: Problem) -> Response:
    """The problem answer of a request."""
    return render(request.scope, {"accept-language": request.headers.get("accept-language", "")}, problem)


def foreign_errors(app: FastAPI, prefix: str, renderer: ForeignRenderer) -> None:
    """Render the shell's errors on paths under `prefix` in that part's own format."""
    if not hasattr(app.state, "foreign_errors"):
        app.state.foreign_errors = []
    app.state.foreign_errors.append((prefix, renderer))


def install(app: FastAPI, service: str) -> None:
    """Register the handlers that turn every error into a problem."""

    @app.exception_handler(Problem)
    async def _on_problem(request: Request, exc: Problem) -> Response:
        return answer(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        default = exc.detail == _phrase(exc.status_code)
        shell = _shell_default(exc.status_code, request, headers) if default else None
        return answer(request, shell or from_http_detail(exc.status_code, exc.detail, headers))

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError) -> Response:
        return answer(request, invalid(field_errors(exc.errors())))

    @app.exception_handler(ConnectionFailure)
    @app.exception_handler(ExecutionTimeout)
    async def _on_store_down(request: Request, exc: Exception) -> Response:
        metrics.STORE_UNAVAILABLE.labels(service).inc()
        return answer(request, store_unavailable())

    @app.exception_handler(Exception)
    async def _on_unexpected(request: Request, exc: Exception) -> Response:
        # Starlette raises the exception again once this answer is sent: the server logs it, with its
        # traceback, in the service's log and trace; the caller learns nothing of it.
        return answer(request, INTERNAL)


def _phrase(status: int) -> Any:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None
