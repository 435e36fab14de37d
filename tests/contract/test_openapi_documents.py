"""Each service's OpenAPI document is one a department's developer can generate a client from:
readable unique operation ids, the bearer scheme on every authenticated operation, a typed answer for
every operation, and every error status an operation can answer documented with the Problem schema."""

import re

import pytest

from devtools.clients_check import untyped
from tests.contract.conftest import SERVICES

OPEN = {"/healthz", "/readyz", "/metrics"}
PUBLIC = "/v1/public/"  # the petitioner's progress: no token (docs/progress.md), checked on its own below
PROBLEM = {"$ref": "#/components/schemas/Problem"}
READABLE = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def operations(document: dict, *, own_format: bool = False):
    """(path, method, operation) of the document; Open311's (its own format) only when asked."""
    for path, ops in document["paths"].items():
        if path in OPEN or path.startswith("/open311/") != own_format:
            continue
        for method, operation in ops.items():
            yield path, method, operation


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_readable_unique_id(documents, service: str) -> None:
    ids = [op["operationId"] for ops in documents[service]["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    unreadable = [i for i in ids if not READABLE.match(i) or len(i) > 40]
    assert not unreadable, unreadable


@pytest.mark.parametrize("service", SERVICES)
def test_the_bearer_scheme_is_declared_and_on_every_authenticated_operation(documents, service: str) -> None:
    document = documents[service]
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer" and scheme["bearerFormat"] == "JWT"
    unsecured = [
        f"{m.upper()} {p}"
        for p, m, op in operations(document)
        if op.get("security") != [{"bearerAuth": []}] and not p.startswith(PUBLIC)
    ]
    assert not unsecured, unsecured
    public = [f"{m.upper()} {p}" for p, m, op in operations(document) if p.startswith(PUBLIC)]
    assert all("security" not in op for p, m, op in operations(document) if p.startswith(PUBLIC)), public
    for path in OPEN:  # probes and metrics stay open
        assert "security" not in document["paths"][path]["get"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_status_is_documented_with_the_problem_schema(documents, service: str) -> None:
    document = documents[service]
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert "errors" in problem["properties"]
    missing = []
    for path, method, op in operations(document):
        responses = op["responses"]
        wanted = {"500", "503"} if path.startswith(PUBLIC) else {"401", "403", "500", "503"}
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            wanted.add("404")
        if op.get("parameters") or "requestBody" in op:
            wanted.add("422")
        if method in ("post", "put", "patch", "delete"):
            wanted.add("409")
        if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in op.get("parameters", [])):
            wanted.add("412")
        missing += [f"{method.upper()} {path} {s}" for s in sorted(wanted - responses.keys())]
        for status, response in responses.items():
            if status[0] in "45":
                schema = response.get("content", {}).get("application/problem+json", {}).get("schema")
                if schema != PROBLEM:
                    missing.append(f"{method.upper()} {path} {status}: not the Problem schema")
    assert not missing, missing


def test_open311_keeps_its_own_error_format_in_the_document(documents) -> None:
    ops = list(operations(documents["intake"], own_format=True))
    assert ops
    for _, _, op in ops:
        assert "security" not in op  # its clients send an api_key, not a bearer token
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert "application/problem+json" not in response.get("content", {})


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_answer_has_a_schema_a_generator_can_type(documents, service: str) -> None:
    # Open311 answers the GeoReport v2 format, which its own specification describes
    missing = [op for op in untyped(documents[service]) if " /open311/" not in op]
    assert missing == []


@pytest.mark.parametrize("service", SERVICES)
def test_no_two_models_share_a_name(documents, service: str) -> None:
    # FastAPI names two same-named models `<Name>-Input` / `<Name>-Output`, and client generators
    # make one class of both (make clients-check failed on mediation's and supervision's that way)
    split = [
        name for name in documents[service]["components"]["schemas"] if re.search(r"-(Input|Output)$", name)
    ]
    assert split == []
