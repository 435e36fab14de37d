"""Every error a real request can produce, from each of the five services, is a problem: a sample of
bad requests (no token, a bad token, a role the table does not name, a body of the wrong shape, an
unknown path or method, a body over the limit) walked over every operation of the OpenAPI documents."""

import re

import pytest

from dispatch_common.auth import Role
from tests.contract.conftest import SERVICES
from tests.contract.problems import assert_problem

OPEN = {"/healthz", "/readyz", "/metrics"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def authenticated(document: dict):
    """(method, path as a request names it, path template, operation) of every authenticated operation."""
    for template, ops in document["paths"].items():
        for method, op in ops.items():
            if op.get("security"):
                yield method, re.sub(r"\{[^}]+\}", "x-1", template), template, op


def send(client, method: str, path: str, token: str | None = None, **kw):
    headers = kw.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
    if method in ("post", "put", "patch") and "json" not in kw and "content" not in kw:
        kw["json"] = {}
    return client.request(method.upper(), path, headers=headers, **kw)


@pytest.mark.parametrize("service", SERVICES)
def test_without_a_token_every_operation_answers_a_401_problem(clients, documents, service: str) -> None:
    ops = list(authenticated(documents[service]))
    assert ops
    for method, path, _, _ in ops:
        answer = send(clients[service], method, path)
        body = assert_problem(answer, 401, "unauthorized")
        assert answer.headers["WWW-Authenticate"] == "Bearer" and body["detail"] == "bearer token required"


def granted(apps, documents, service: str):
    """(method, path, operation, the scope of each role the table grants) of each authenticated one."""
    table = apps[service].state.authorization
    for method, path, template, op in authenticated(documents[service]):
        grant = table.grant(service, method.upper(), template)
        yield method, path, op, {role: scope.value for role, scope in (grant.roles if grant else {}).items()}


@pytest.mark.parametrize("service", SERVICES)
def test_a_role_the_table_does_not_name_gets_a_403_problem_in_its_language(
    apps, clients, documents, token, service: str
) -> None:
    refused = 0
    for method, path, _, roles in granted(apps, documents, service):
        outsider = next((r.value for r in Role if r.value not in roles), None)
        if outsider is not None:
            answer = send(clients[service], method, path, token(outsider, "U-NONE"), headers=ZH)
            body = assert_problem(answer, 403, "forbidden")
            assert body["title"] == "无权操作" and answer.headers["content-language"] == "zh"
            refused += 1
    assert refused


@pytest.mark.parametrize("service", SERVICES)
def test_a_body_of_the_wrong_shape_gets_a_422_problem_with_field_errors(
    apps, clients, documents, token, service: str
) -> None:
    checked = 0
    for method, path, op, roles in granted(apps, documents, service):
        wide = [role for role, scope in roles.items() if scope in ("county", "any")]
        # a rate-limited operation counts the call in MongoDB first, and nothing connects here
        if "requestBody" in op and "429" not in op["responses"] and wide:
            answer = send(clients[service], method, path, token(wide[0]), json=["not", "an", "object"])
            body = assert_problem(answer, 422, "validation_failed")
            assert body["errors"] and body["errors"][0]["loc"][0] == "body"
            checked += 1
    assert checked or service == "intake"  # intake's bodies are all rate-limited


@pytest.mark.parametrize("service", SERVICES)
def test_an_unknown_path_or_method_gets_a_problem_in_english_or_chinese(clients, service: str) -> None:
    client = clients[service]
    assert_problem(client.get("/v1/no-such-thing"), 404, "not_found")
    zh = assert_problem(client.get("/v1/no-such-thing", headers={"Accept-Language": "zh"}), 404)
    assert zh["title"] == "未找到" and zh["detail"] == "此路径下没有任何接口"
    body = assert_problem(client.delete("/healthz"), 405, "method_not_allowed")
    assert "GET" in body["detail"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_body_over_the_limit_gets_a_413_problem(clients, documents, token, service: str) -> None:
    method, path, _, _ = next(
        (m, p, t, op) for m, p, t, op in authenticated(documents[service]) if m == "post"
    )
    big = b"[" + b"0," * 200_000 + b"0]"
    answer = send(clients[service], method, path, token("admin"), content=big, headers=ZH)
    body = assert_problem(answer, 413, "payload_too_large")
    assert body["title"] == "请求体过大" and "字节" in body["detail"]


def test_a_bad_token_is_told_why_and_in_chinese_when_asked(clients) -> None:
    answer = clients["mediation"].get("/v1/mediations", headers={"Authorization": "Bearer nonsense"} | ZH)
    body = assert_problem(answer, 401, "unauthorized")
    assert body["title"] == "未认证" and body["detail"].startswith("令牌无效")


def test_open311_answers_the_shells_errors_in_the_georeport_format(clients) -> None:
    client = clients["intake"]
    too_long = client.get("/open311/v2/services.json", params={"api_key": "k" * 300})
    assert too_long.status_code == 422 and too_long.headers["content-type"] == "application/json"
    [error] = too_long.json()
    assert error["code"] == 422 and error["description"].startswith("api_key:")
    xml = client.get("/open311/v2/services.xml", params={"api_key": "k" * 300})
    assert xml.headers["content-type"].startswith("text/xml") and b"<errors><error><code>422" in xml.content
    unknown = client.get("/open311/v2/nothing-here.json")
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404
