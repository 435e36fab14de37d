"""A costly text is worked on off the event loop: while routing decides one, or intake screens and
links one, the service still answers /healthz, takes other requests and acknowledges other messages.

The decision (or the screening) of the adversarial text is held at a gate the test opens, so that
"while" is an observable state, not a matter of timing. Were the work done on the event loop, the
loop would wait at the gate too: nothing else would be answered until it gave up (GATE_SECONDS), and
the assertions that the text is still being worked on would fail.
"""

import asyncio
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.keys import ensure_dev_keys, issue_token
from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.paths import DATA_DIR
from dispatch_common.streams import platform_streams
from services.intake import bootstrap as intake_bootstrap
from services.intake.config import IntakeSettings
from services.intake.domain.events import PetitionerView
from services.intake.domain.screening import Screener, ScreeningResult, ScreeningRules
from services.intake.handlers import screened_event
from services.routing import bootstrap as routing_bootstrap
from services.routing.config import RoutingSettings
from services.routing.engine import RoutingEngine
from tests.helpers import FAST_CONSUMERS, eventually, nats_identity

pytestmark = pytest.mark.integration

SLOW_TEXT = "偷" * 5000  # the densest text of the demo county's vocabulary (bench/adversarial_input.py)
QUICK_TEXT = "楼下广场舞音响太吵，每天晚上放到十点多。"
GATE_SECONDS = 20.0


class Gate:
    """Holds the work on SLOW_TEXT until opened; says when that work has started."""

    def __init__(self) -> None:
        self.entered, self.opened = threading.Event(), threading.Event()

    def hold(self, text: str | None) -> None:
        if text == SLOW_TEXT:
            self.entered.set()
            self.opened.wait(GATE_SECONDS)

    async def wait_entered(self) -> None:
        await eventually(lambda: asyncio.sleep(0, self.entered.is_set()), what="the slow work to start")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate()
    decide, screen = RoutingEngine.decide, Screener.screen

    def held_decide(self: RoutingEngine, request, **corrections):  # type: ignore[no-untyped-def]
        gate.hold(request.text)
        return decide(self, request, **corrections)

    def held_screen(self: Screener, case):  # type: ignore[no-untyped-def]
        gate.hold(case.text)
        return screen(self, case)

    monkeypatch.setattr(RoutingEngine, "decide", held_decide)
    monkeypatch.setattr(Screener, "screen", held_screen)
    yield gate
    gate.opened.set()


def servers(nats_url: str, mongodb_url: str, db_prefix: str, run_dir: Path, service: str) -> dict[str, Any]:
    """Settings on this test's servers as the service's NATS user, with fast retries (the slow message
    is not redelivered)."""
    ensure_dev_keys(run_dir / "keys")
    return (
        FAST_CONSUMERS
        | nats_identity(run_dir, service)
        | {
            "consumer_ack_wait_seconds": 60.0,
            "nats_url": nats_url,
            "mongodb_url": mongodb_url,
            "mongodb_db_prefix": db_prefix,
            "run_dir": run_dir,
        }
    )


def caller(app: Any, run_dir: Path, role: str) -> httpx.AsyncClient:
    """An HTTP client of the app in this process, with a token of the role."""
    token = issue_token(run_dir / "keys", role=role)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://service",
        headers={"Authorization": f"Bearer {token}"},
    )


def screened(case_id: str, text: str, clock: FixedClock) -> tuple[bytes, str]:
    """dispatch.case.screened of an accepted case, as intake publishes it."""
    case = {
        "_id": case_id,
        "case_no": f"990102-2026-{int(case_id[:5], 16) % 1_000_000:06d}",  # six digits, as the schema asks
        "channel": "hotline_12345",
        "text": text,
        "address": "城关街道幸福锦绣家园",
        "received_at": datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    }
    result = ScreeningResult(
        outcome="accepted",
        nature="申诉求决",
        hotline_nature="投诉",
        reason="受理",
        rule_id=None,
        rules_version="t",
    )
    rules = ScreeningRules.from_file(
        DATA_DIR / "intake" / "screening_rules.json", DATA_DIR / "intake" / "knowledge_base.json"
    )
    event = screened_event(
        case,
        PetitionerView(anonymous=True),
        result,
        screened_by="rules",
        cause="t",
        clock=clock,
        rules=rules.file,
    )
    return event.to_bytes(), event.id


async def test_routing_answers_and_acks_other_cases_while_it_decides_a_costly_text(
    gate: Gate, nats_url, mongodb_url, db_prefix, run_dir, nats_client
) -> None:
    settings = RoutingSettings(**servers(nats_url, mongodb_url, db_prefix, run_dir, "routing"))
    # both cases wait on the stream before routing starts, so its first fetch takes them together
    js = nats_client.jetstream()
    for config in platform_streams(settings):
        await js.add_stream(config=config)
    slow_id, quick_id = str(uuid.uuid4()), str(uuid.uuid4())
    clock = FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    for case_id, text in ((slow_id, SLOW_TEXT), (quick_id, QUICK_TEXT)):
        body, event_id = screened(case_id, text, clock)
        await js.publish(subjects.CASE_SCREENED, body, headers={"Nats-Msg-Id": event_id})

    app = routing_bootstrap.create(settings)
    routing = app.state.routing
    await routing.runtime.start()
    client = caller(app, run_dir, "dispatcher")
    try:
        await gate.wait_entered()
        preview = asyncio.create_task(
            client.post("/v1/routes/preview", json={"channel": "hotline_12345", "text": SLOW_TEXT})
        )
        assert (await client.get("/healthz")).json()["status"] == "ok"
        quick = await eventually(
            lambda: routing.routes.find_one({"_id": quick_id}), what="the quick case routed"
        )
        assert quick["decision"]["category"]["code"]
        info = await eventually(
            lambda: _acked_but_one(js), what="the quick case's message acknowledged, the slow one not"
        )
        assert info.num_ack_pending == 1
        # still deciding the slow text: no route for it yet, and the preview is not answered
        assert not gate.opened.is_set()
        assert await routing.routes.find_one({"_id": slow_id}) is None
        assert not preview.done()
        gate.opened.set()
        assert (await preview).status_code == 200
        assert await eventually(
            lambda: routing.routes.find_one({"_id": slow_id}), what="the slow case routed"
        )
    finally:
        gate.opened.set()
        await client.aclose()
        await routing.runtime.stop()


async def _acked_but_one(js):  # type: ignore[no-untyped-def]
    info = await js.consumer_info(subjects.DISPATCH_STREAM, subjects.ROUTING_ON_SCREENED)
    return info if info.num_ack_pending == 1 and info.delivered.stream_seq >= 2 else None


async def test_intake_registers_other_cases_while_it_screens_a_costly_text(
    gate: Gate, nats_url, mongodb_url, db_prefix, run_dir
) -> None:
    settings = IntakeSettings(**servers(nats_url, mongodb_url, db_prefix, run_dir, "intake"))
    app = intake_bootstrap.create(settings)
    intake = app.state.intake
    await intake.runtime.start()
    client = caller(app, run_dir, "reception_clerk")
    case = {
        "channel": "hotline_12345",
        "address": "城关街道幸福锦绣家园",
        "petitioner": {"phone": "13800000000"},
    }
    try:
        slow = asyncio.create_task(client.post("/v1/cases", json=case | {"text": SLOW_TEXT}))
        await gate.wait_entered()
        assert (await client.get("/healthz")).json()["status"] == "ok"
        quick = await client.post("/v1/cases", json=case | {"text": QUICK_TEXT})
        assert quick.status_code == 201
        assert not gate.opened.is_set() and not slow.done()  # still screening the slow text
        gate.opened.set()
        assert (await slow).status_code == 201
    finally:
        gate.opened.set()
        await client.aclose()
        await intake.runtime.stop()
