"""The shell's exception handlers on a probe app: whatever a service raises (an HTTPException with a
string, a list of field errors or an object; a Problem with its own code and Chinese detail; an
unexpected exception) answers a problem, and an unexpected one tells nothing of itself."""

import socket

import pytest
from fastapi import FastAPI, HTTPException, Response
from fastapi.testclient import TestClient

from dispatch_common.http import create_app
from dispatch_common.problems import Problem, wants_chinese
from dispatch_common.runtime import Runtime
from dispatch_common.settings import ServiceSettings
from tests.contract.problems import assert_problem

ZH = {"Accept-Language": "zh"}
SECRET = "mongodb://admin:hunter2@db"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    tmp = tmp_path_factory.mktemp("probe")
    table = tmp / "authorization.yaml"
    paths = ["/v1/plain", "/v1/fields", "/v1/object", "/v1/specific", "/v1/crash", "/v1/store", "/v1/own"]
    table.write_text(
        "version: 1\noperations:\n  probe:\n"
        + "".join(f"    GET {p}:\n      dispatcher: county\n" for p in paths)
    )
    runtime = Runtime(
        ServiceSettings(
            service_name="probe",
            authorization_file=table,
            environment="test",
            run_dir=tmp,
            mongodb_url=f"mongodb://127.0.0.1:{_closed_port()}/?directConnection=true&serverSelectionTimeoutMS=500",
            nats_url=f"nats://127.0.0.1:{_closed_port()}",
            trace_http_clients=False,  # as in conftest.build: httpx stays uninstrumented for the e2e tests
        )
    )

    def include(app: FastAPI) -> None:
        @app.get("/v1/plain")
        async def plain() -> None:
            raise HTTPException(409, "the case is closed")

        @app.get("/v1/fields")
        async def fields() -> None:
            raise HTTPException(422, [{"loc": ["query", "unit"], "msg": "name a unit", "input": "U-1"}])

        @app.get("/v1/object")
        async def object_detail() -> None:
            raise HTTPException(422, {"msg": "not reloaded", "problems": ["units.json: duplicate code"]})

        @app.get("/v1/specific")
        async def specific() -> None:
            raise Problem(409, "the route changed", code="route_changed", detail_zh="路由已变更")

        @app.get("/v1/crash")
        async def crash() -> None:
            raise RuntimeError(f"cannot reach {SECRET}")

        @app.get("/v1/store")
        async def store() -> dict[str, int]:
            return {"n": await runtime.db["things"].count_documents({})}

        @app.get("/v1/own")
        async def own_cache(response: Response) -> dict[str, str]:
            response.headers["Cache-Control"] = "no-cache"
            return {"stream": "its own"}

    app = create_app(runtime, title="Probe", description="probe", include=include)
    return TestClient(app, raise_server_exceptions=False)


def test_a_string_detail_keeps_its_words_and_gets_the_statuss_code(probe: TestClient) -> None:
    body = assert_problem(probe.get("/v1/plain"), 409, "conflict")
    assert body["detail"] == "the case is closed" and body["title"] == "Conflict"
    zh = assert_problem(probe.get("/v1/plain", headers=ZH), 409)
    assert zh["title"] == "与当前状态冲突" and zh["detail"] == "the case is closed"  # no Chinese given


def test_a_list_detail_becomes_field_errors_without_the_submitted_values(probe: TestClient) -> None:
    body = assert_problem(probe.get("/v1/fields"), 422, "validation_failed")
    assert body["errors"] == [{"loc": ["query", "unit"], "msg": "name a unit", "type": "value_error"}]
    assert "U-1" not in probe.get("/v1/fields").text


def test_an_object_detail_becomes_its_message_and_its_problems(probe: TestClient) -> None:
    body = assert_problem(probe.get("/v1/object"), 422)
    assert body["detail"] == "not reloaded" and body["errors"][0]["msg"] == "units.json: duplicate code"


def test_a_problem_keeps_its_own_code_and_chinese_detail(probe: TestClient) -> None:
    assert assert_problem(probe.get("/v1/specific"), 409, "route_changed")["detail"] == "the route changed"
    zh = assert_problem(probe.get("/v1/specific", headers=ZH), 409, "route_changed")
    assert zh["detail"] == "路由已变更"


def test_an_unexpected_exception_is_a_500_that_tells_nothing_of_itself(probe: TestClient) -> None:
    answer = probe.get("/v1/crash")
    body = assert_problem(answer, 500, "internal_error")
    assert (
        "hunter2" not in answer.text
        and "RuntimeError" not in answer.text
        and "cannot reach" not in answer.text
    )
    assert assert_problem(probe.get("/v1/crash", headers=ZH), 500)["title"] == "服务器内部错误"
    assert body["detail"].startswith("an unexpected error")


def test_a_database_that_is_down_is_a_503_with_retry_after_in_chinese_when_asked(probe: TestClient) -> None:
    answer = probe.get("/v1/store", headers=ZH)
    body = assert_problem(answer, 503, "store_unavailable")
    assert int(answer.headers["Retry-After"]) > 0 and body["detail"].startswith("服务的数据库暂无响应")


@pytest.mark.parametrize(
    ("header", "chinese"),
    [
        ("zh", True),
        ("zh-CN,zh;q=0.9,en;q=0.8", True),
        ("en-US,en;q=0.9,zh-CN;q=0.8", False),
        ("en;q=0.5, zh-Hans;q=0.7", True),
        ("", False),
        ("zh;q=0", False),
        ("*", False),
    ],
)
def test_the_language_is_the_callers_most_preferred(header: str, chinese: bool) -> None:
    assert wants_chinese(header) is chinese


def test_answers_are_not_kept_by_caches_unless_the_operation_says_otherwise(probe: TestClient) -> None:
    assert probe.get("/healthz").headers["cache-control"] == "no-store"
    assert probe.get("/v1/own").headers["cache-control"] == "no-cache"
