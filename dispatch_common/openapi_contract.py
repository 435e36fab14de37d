"""The OpenAPI every service publishes, shaped for client generators.

Operation ids are the endpoint functions' names in camelCase (`submit_case` -> `submitCase`), unique
per service (a clash takes the noun its path starts with, then a number). Every error status an
operation can answer is documented with the `Problem` schema (`application/problem+json`), from what
the document itself says of the operation: 401 and 403 where it is authenticated (the bearer scheme,
declared by `dispatch_common.auth`), 422 where it takes input, 404 where a path names a record, 409
on changes, 412 where it takes `If-Match`, 413 where it takes a body, 500 and 503 everywhere; 429
where the service declared it. Paths answered in a format of their own (Open311) keep theirs.
"""

import warnings
from collections import Counter
from typing import Any

from fastapi import FastAPI

from dispatch_common.problems import PROBLEM_JSON, ProblemDetails

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
CHANGES = frozenset({"post", "put", "patch", "delete"})
DESCRIPTIONS = {
    "401": "No bearer token, or one that fails verification (`unauthorized`); header `WWW-Authenticate`",
    "403": "The caller's role may not do this (`forbidden`)",
    "404": "No such record, or one outside the caller's scope (`not_found`)",
    "409": "A conflict with the stored state (`conflict`)",
    "412": "`If-Match` names a version that is no longer current (`precondition_failed`); header `ETag`",
    "413": "The request body is over the service's limit (`payload_too_large`)",
    "422": "The request does not validate (`validation_failed`): one entry per field in `errors`",
    "429": "Too many requests from this client (`rate_limited`): wait `Retry-After` seconds",
    "500": "An unexpected error (`internal_error`): nothing about it is told",
    "503": "A dependency is down (the database; `store_unavailable`) and the request changed nothing, or "
    "the service or its database could not answer within its budget (`busy`; a change may have been "
    "stored): send it again (with the same `Idempotency-Key` where the endpoint takes one) after "
    "`Retry-After` seconds",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}


def readable_id(route: Any) -> str:
    """An operation's id: its endpoint function's name in camelCase."""
    head, *rest = route.name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def unique_ids(document: dict[str, Any]) -> None:
    """Give the operations whose function names clash (two routers' `assign`) an id of their own: the
    name and the noun its path starts with (`assignMediation`, `assignReferral`), then a number."""
    operations = [(p, op) for p, ops in document.get("paths", {}).items() for op in ops.values()]
    clashes = Counter(op.get("operationId") for _, op in operations)
    for path, op in operations:
        if clashes[op.get("operationId")] > 1:
            nouns = [s for s in path.split("/") if s and not s.startswith("{") and not _version(s)]
            noun = nouns[0].removesuffix("s") if nouns else ""
            op["operationId"] += "".join(w.capitalize() for w in noun.replace("_", "-").split("-"))
    seen: Counter[str] = Counter()
    for _, op in operations:
        seen[op.get("operationId")] += 1
        if seen[op.get("operationId")] > 1:
            op["operationId"] += str(seen[op["operationId"]])


def _version(segment: str) -> bool:
    return segment[:1] == "v" and segment[1:].isdigit()


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses the shell and the services answer for this operation."""
    parameters = operation.get("parameters", [])
    statuses = ["500", "503"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if parameters or "requestBody" in operation:
        statuses.append("422")
    if any(p.get("in") == "path" for p in parameters):
        statuses.append("404")
    if method in CHANGES:
        statuses.append("409")
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in parameters):
        statuses.append("412")
    if "requestBody" in operation:
        statuses.append("413")
    return statuses


def shape(document: dict[str, Any], foreign_prefixes: tuple[str, ...], open_paths: tuple[str, ...]) -> None:
    """Document every operation's error statuses with the Problem schema, in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for path, operations in document.get("paths", {}).items():
        if path.startswith(foreign_prefixes):
            _foreign(operations)
        if path in open_paths or path.startswith(foreign_prefixes):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                responses.setdefault(status, {"description": DESCRIPTIONS[status]})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
                if status in ("429", "503"):
                    response.setdefault("headers", RETRY_AFTER)
    unique_ids(document)
    text = repr(document["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            schemas.pop(unused, None)


def _foreign(operations: dict[str, Any]) -> None:
    """A part with its own error format: its errors are that format, not FastAPI's validation errors."""
    for operation in operations.values():
        for status, response in operation.get("responses", {}).items():
            if status[:1] in ("4", "5"):
                response.pop("content", None)
                response["description"] = response.get("description", "") or "An error in this part's format"
        operation["responses"].get("422", {})["description"] = (
            "The request does not validate: the part's errors"
        )


def install(app: FastAPI, foreign_prefixes: tuple[str, ...], open_paths: tuple[str, ...]) -> None:
    """Shape the document FastAPI builds (once; it is cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if not getattr(app.state, "openapi_shaped", False):
            with warnings.catch_warnings():  # FastAPI warns of the clashing ids that unique_ids resolves
                warnings.filterwarnings("ignore", message="Duplicate Operation ID")
                document = build()
            shape(document, foreign_prefixes, open_paths)
            app.state.openapi_shaped = True
        return build()

    app.openapi = openapi  # type: ignore[method-assign]
