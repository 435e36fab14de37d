"""CORS: a browser frontend on an allowed origin (the console, a department's app) may call a service
with the bearer header and read ETag/Retry-After; any other origin, and every origin by default, may not."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dispatch_common.settings import ServiceSettings
from tests.unit.test_http_shell import _app

CONSOLE = "http://127.0.0.1:8000"


def _preflight(client: TestClient, origin: str) -> dict[str, str]:
    answer = client.options(
        "/v1/things",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, if-match, idempotency-key",
        },
    )
    return {k.lower(): v for k, v in answer.headers.items()} | {"status": str(answer.status_code)}


def test_an_allowed_origin_may_send_the_bearer_and_if_match_headers(tmp_path) -> None:
    with TestClient(_app(tmp_path, cors_origins=f"{CONSOLE}, https://dept.example")) as client:
        headers = _preflight(client, CONSOLE)
        simple = client.get("/healthz", headers={"Origin": "https://dept.example"})
    assert headers["status"] == "200"
    assert headers["access-control-allow-origin"] == CONSOLE
    allowed = headers["access-control-allow-headers"].lower()
    assert {"authorization", "if-match", "idempotency-key", "last-event-id"} <= set(allowed.split(", "))
    assert simple.headers["access-control-allow-origin"] == "https://dept.example"
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed and "retry-after" in exposed


def test_another_origin_gets_no_cors_headers(tmp_path) -> None:
    with TestClient(_app(tmp_path, cors_origins=f'["{CONSOLE}"]')) as client:
        headers = _preflight(client, "https://elsewhere.example")
        simple = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in headers
    assert "access-control-allow-origin" not in simple.headers


def test_by_default_no_origin_is_allowed(tmp_path) -> None:
    with TestClient(_app(tmp_path)) as client:
        headers = _preflight(client, CONSOLE)
    assert "access-control-allow-origin" not in headers


def test_a_wildcard_origin_is_refused() -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        ServiceSettings(cors_origins="*")
