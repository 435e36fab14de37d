"""What the petitioner's progress tests drive: an SMS gateway on loopback that keeps what it is sent,
a platform of their own that sends SMS at any hour, and a case taken to the unit's answer."""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from devtools.keys import issue_token, unit_area
from devtools.stack import Stack, free_port
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import settled_case_file, submission, wait_for

PAGE_URL = "https://progress.county.example/progress/"
SMS_SECRET = "progress-test-gateway-secret-0123456789"
LINK = re.compile(r"#n=(?P<case_no>[0-9-]+)&c=(?P<code>[A-Z0-9]{4}-[A-Z0-9]{4})")


class SmsSink:
    """A loopback SMS gateway that answers 200 and keeps every body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw)
                sink.bodies.append(body)
                answer = json.dumps({"id": body.get("message_id")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts_for(self, case_no: str) -> list[str]:
        return [b["text"] for b in self.bodies if case_no in b["text"]]


@contextmanager
def progress_platform(base: Path) -> Iterator[tuple[Stack, SmsSink]]:
    """The platform with an SMS gateway, no quiet hours (the acceptance SMS goes at once, whatever the
    hour) and the progress limits off (the limits' test turns them on in replicas of its own)."""
    sink = SmsSink()
    env = {
        "SMS_GATEWAY_URL": sink.url,
        "SMS_GATEWAY_SECRET": SMS_SECRET,
        "QUIET_HOURS": "",
        "SENDER_POLL_SECONDS": "0.2",
        "PROGRESS_PAGE_URL": PAGE_URL,
        "PROGRESS_RATE_LIMIT_ENABLED": "false",
    }
    try:
        stack = start_stack(base, env)
    except Exception:
        sink.stop()
        raise
    try:
        yield stack, sink
    finally:
        stack.stop()
        sink.stop()


def api(stack: Stack, role: str, unit: str | None = None) -> Api:
    area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
    return Api(stack, issue_token(stack.run_dir / "keys", role=role, unit=unit, area=area))


def public(
    stack: Stack, path: str, body: dict[str, Any], base: str | None = None, **headers: str
) -> httpx.Response:
    """A call of the public progress API, without a token (as a petitioner's phone makes it)."""
    url = (base or stack.url("supervision")) + "/v1/public/progress" + path
    return httpx.post(url, json=body, headers=headers, timeout=30)


def accepted_case(stack: Stack, sink: SmsSink, samples: list[dict], phone: str) -> dict[str, Any]:
    """A petition with a phone, assigned to a unit, and the code its acceptance SMS carries."""
    sample = next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"])
    body = submission(sample, channel="petition_letter", petitioner={"name": "测试人", "phone": phone})
    r = api(stack, "reception_clerk").post("intake", "/v1/cases", json=body)
    assert r.status_code == 201, r.text
    case = settled_case_file(api(stack, "dispatcher"), r.json()["case_id"])
    assert case["status"] == "assigned", case
    # the acceptance SMS (the assignment's may come first: each goes when it is due)
    sms = wait_for(
        lambda: next((t for t in sink.texts_for(case["case_no"]) if LINK.search(t)), None),
        what="the acceptance SMS",
    )
    found = LINK.search(sms)
    assert found and found["case_no"] == case["case_no"], sms
    return case | {"code": found["code"], "sms": sms}


def answered(stack: Stack, case: dict[str, Any], text: str) -> None:
    """The lead unit signs the case and answers it."""
    unit = api(stack, "unit_handler", case["lead_unit"]["code"])
    assert unit.post("supervision", f"/v1/cases/{case['case_id']}/sign", json={}).status_code == 200
    r = unit.post(
        "supervision", f"/v1/cases/{case['case_id']}/reply", json={"result": "resolved", "text": text}
    )
    assert r.status_code == 200, r.text
