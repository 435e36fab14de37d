"""One error shape for every service: RFC 9457 problem details, in English or Chinese.

An error answer is `application/problem+json` with `{type, title, status, detail, code}` and, for
field-level reasons, `errors: [{loc, msg, type}]` (never the submitted values: they may hold personal
data). `code` is a stable machine word per status (`not_found`, `conflict`...) unless the raiser gives
a more specific one; `type` is `/problems/<code>`; `detail` is always a string. A client that sends
`Accept-Language: zh` (or `zh-CN`, ...) gets the title in Chinese and the detail in Chinese where one
was given (`Problem(detail_zh=...)`, and the shell's own problems). Services raise `HTTPException` as
before, or `Problem` for a specific code or a Chinese detail; the shell turns both into problems.
"""

from http import HTTPStatus
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}
TITLES_ZH: dict[int, str] = {
    400: "请求有误",
    401: "未认证",
    403: "无权操作",
    404: "未找到",
    405: "不支持此方法",
    406: "无法提供所要求的格式",
    409: "与当前状态冲突",
    410: "已不存在",
    412: "版本已变更",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "请求未通过校验",
    428: "缺少前提条件",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "上游服务出错",
    503: "服务暂不可用",
    504: "上游服务超时",
}


class FieldError(BaseModel):
    """One field-level reason: where (`loc`), what is wrong (`msg`) and which check (`type`)."""

    loc: list[str | int]
    msg: str
    type: str


class ProblemDetails(BaseModel):
    """An error answer (RFC 9457), `application/problem+json`."""

    type: str = Field(description="`/problems/<code>`: identifies the kind of problem")
    title: str = Field(description="the status in words (Chinese with `Accept-Language: zh`)")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what happened in this request, for a person")
    code: str = Field(description="a stable machine word: `not_found`, `validation_failed`, ...")
    errors: list[FieldError] | None = Field(None, description="field-level reasons (422)")


class Problem(HTTPException):
    """An error answer with a specific `code` and, optionally, a Chinese `detail` and field errors (an
    `HTTPException`, so code that catches those, or tests that expect one, see it as one)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        detail_zh: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers or {})
        self.status, self.detail, self.detail_zh = status, detail, detail_zh
        self.code = code or code_of(status)
        self.errors, self.headers = errors, headers or {}

    def body(self, chinese: bool = False) -> dict[str, Any]:
        """The problem document, in Chinese where asked and available."""
        body: dict[str, Any] = {
            "type": f"/problems/{self.code.replace('_', '-')}",
            "title": title_of(self.status, chinese),
            "status": self.status,
            "detail": self.detail_zh if chinese and self.detail_zh else self.detail,
            "code": self.code,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def code_of(status: int) -> str:
    """The machine word of a status (`error` for one the table does not name)."""
    return CODES.get(status, "client_error" if status < 500 else "server_error")


def title_of(status: int, chinese: bool = False) -> str:
    """The status in words."""
    if chinese and status in TITLES_ZH:
        return TITLES_ZH[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def wants_chinese(accept_language: str | None) -> bool:
    """Whether the caller's most preferred language (RFC 9110 §12.5.4 weights) is Chinese."""
    best, best_q = "", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > best_q:
            best, best_q = tag.strip().lower(), q
    return best.split("-")[0] == "zh"


def field_errors(entries: Any) -> list[dict[str, Any]]:
    """Field-level reasons in the contract's shape (`loc` a list, `msg`, `type`), whatever the raiser
    gave: FastAPI's validation errors (their `input` and `ctx` left out), or plain dicts."""
    errors = []
    for entry in entries:
        if isinstance(entry, dict):
            loc = entry.get("loc", ())
            errors.append(
                {
                    "loc": list(loc) if isinstance(loc, list | tuple) else [str(loc)],
                    "msg": str(entry.get("msg", "")),
                    "type": str(entry.get("type", "value_error")),
                }
            )
        else:
            errors.append({"loc": [], "msg": str(entry), "type": "value_error"})
    return errors


def invalid(errors: list[dict[str, Any]], status: int = 422) -> Problem:
    """The problem of a request that does not validate: a summary and every field's reason."""
    n = len(errors)
    return Problem(
        status,
        f"the request does not validate: {n} problem{'s' if n != 1 else ''}, listed in `errors`",
        detail_zh=f"请求未通过校验：共 {n} 处问题，见 errors",
        errors=errors,
    )


def from_http_detail(status: int, detail: Any, headers: dict[str, str] | None = None) -> Problem:
    """A problem from what an `HTTPException` carries: a string, a list of field errors, or an object
    with a message and its problems (`{"msg": ..., "problems": [...]}`)."""
    if isinstance(detail, list):
        problem = invalid(field_errors(detail), status)
        problem.headers = headers or {}
        return problem
    if isinstance(detail, dict):
        problems = detail.get("problems") or detail.get("errors")
        errors = field_errors(problems) if isinstance(problems, list) else None
        message = str(detail.get("msg") or detail.get("detail") or title_of(status))
        return Problem(status, message, errors=errors, headers=headers)
    return Problem(status, str(detail), headers=headers)
