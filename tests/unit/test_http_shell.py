"""The HTTP shell every service shares, with its database away: a problem+json 503 with Retry-After
(never a bare 500), liveness that fails once start-up gave up, and the prefix an ingress serves it under."""

import socket
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch_common.http import create_app
from dispatch_common.runtime import Runtime
from dispatch_common.settings import ServiceSettings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _app(tmp_path, **settings: object) -> FastAPI:  # type: ignore[no-untyped-def]
    """An app whose one operation reads MongoDB, on a MongoDB that is not there."""
    table = tmp_path / "authorization.yaml"  # the service refuses to start on an operation it does not name
    table.write_text("version: 1\noperations:\n  probe:\n    POST /v1/things:\n      dispatcher: county\n")
    values = {
        "service_name": "probe",
        "authorization_file": table,
        "environment": "test",
        "run_dir": tmp_path,
        "mongodb_url": f"mongodb://127.0.0.1:{_closed_port()}/?directConnection=true",
        "nats_url": f"nats://127.0.0.1:{_closed_port()}",
    } | settings
    runtime = Runtime(ServiceSettings(**values))  # type: ignore[arg-type]

    def include(app: FastAPI) -> None:
        @app.post("/v1/things")
        async def make_thing() -> dict[str, int]:
            return {"n": await runtime.db["things"].count_documents({})}

    return create_app(runtime, title="Probe", description="probe", include=include)


def test_a_request_that_meets_a_database_that_is_down_gets_a_problem_503_with_retry_after(tmp_path) -> None:
    with TestClient(_app(tmp_path), raise_server_exceptions=False) as client:
        answer = client.post("/v1/things")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    body = answer.json()
    assert body["status"] == 503 and body["code"] == "store_unavailable"
    assert {"type", "title", "detail"} <= body.keys()


def test_every_operation_documents_its_503_in_the_openapi(tmp_path) -> None:
    with TestClient(_app(tmp_path)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/v1/things"]["post"]
    assert "application/problem+json" in operation["responses"]["503"]["content"]
    assert "Retry-After" in operation["responses"]["503"]["headers"]
    probe = paths["/healthz"]["get"]["responses"]["503"]  # the probe's own answer, not a store problem
    assert "application/problem+json" not in probe["content"]


def test_liveness_fails_once_start_up_gave_up(tmp_path) -> None:
    with TestClient(_app(tmp_path, start_give_up_seconds=0.3)) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 30
        while client.get("/healthz").status_code == 200:
            assert time.monotonic() < deadline, "start-up never gave up"
            time.sleep(0.2)
        answer = client.get("/healthz")
        ready = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["status"] == "start-up gave up"
    assert ready.status_code == 503 and ready.json()["checks"]["started"] is False


@pytest.mark.parametrize("path", ["/intake/openapi.json", "/openapi.json"])
def test_behind_a_prefix_the_openapi_and_docs_name_the_prefix(tmp_path, path: str) -> None:
    with TestClient(_app(tmp_path, http_root_path="/intake")) as client:
        spec = client.get(path)
        docs = client.get("/intake/docs")
    assert spec.status_code == 200
    assert spec.json()["servers"] == [{"url": "/intake"}]
    assert docs.status_code == 200 and "/intake/openapi.json" in docs.text


def test_a_root_path_must_look_like_a_path() -> None:
    for bad in ("intake", "/intake/"):
        with pytest.raises(ValueError, match="HTTP_ROOT_PATH"):
            ServiceSettings(http_root_path=bad)
