"""Secrets that callers send (the Open311 api_key in the query or the form, bearer tokens) reach
neither the trace files (TRACE_FILE, JSON lines) nor the logs of the running services."""

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def spans_with(trace_file: Path, marker: str, within: float = 15.0) -> list[dict]:
    """The spans of a trace file whose attributes mention `marker`, once the exporter wrote them."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if trace_file.exists():
            lines = trace_file.read_text(encoding="utf-8").splitlines()
            found = [json.loads(line) for line in lines if marker in line]
            if found:
                return found
        time.sleep(0.2)
    raise AssertionError(f"no span mentioning {marker} in {trace_file}")


def test_the_open311_key_and_bearer_tokens_reach_no_trace_and_no_log(stack, clerk):
    key = (stack.run_dir / "keys" / "open311_api_key").read_text().strip()
    marker = uuid.uuid4().hex
    base = stack.url("intake") + "/open311/v2"
    with httpx.Client(timeout=10.0) as client:
        listed = client.get(f"{base}/services.json", params={"api_key": key, "jurisdiction_id": marker})
        assert listed.status_code == 200
        code = listed.json()[0]["service_code"]
        form = {"api_key": key, "service_code": code, "description": f"路灯不亮了 {marker}"}
        assert client.post(f"{base}/requests.json", data=form).status_code == 201
        body = {"api_key": key, "service_code": code, "description": "井盖缺失"}
        assert client.post(f"{base}/requests.json", json=body).status_code == 201
        listed_open = client.get(f"{base}/requests.json", params={"api_key": key, "status": "open"})
        assert listed_open.status_code == 200
        refused = client.get(f"{base}/services.json", params={"api_key": f"wrong-{key}"})
        assert refused.status_code == 403
    assert clerk.get("intake", f"/v1/cases/{uuid.uuid4()}", params={"ref": marker}).status_code == 404

    traced = spans_with(stack.run_dir / "traces" / "intake.jsonl", marker)
    urls = [s["attributes"].get("http.url", "") for s in traced]
    assert any("api_key=REDACTED" in url and "/services.json" in url for url in urls), urls
    time.sleep(1.0)  # the batch exporter writes every 0.5 s: let the later requests' spans land too
    written = [
        path.read_text(encoding="utf-8", errors="replace")
        for folder in ("traces", "logs")
        for path in sorted((stack.run_dir / folder).glob("*"))
        if path.is_file()
    ]
    assert written
    for secret in (key, clerk.token):
        assert not any(secret in text for text in written)
