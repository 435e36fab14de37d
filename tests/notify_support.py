"""Notify on the real servers, with a loopback SMS gateway, webhook receiver and SMTP server.

`start_notify` builds the service in-process on the test's nats-server and MongoDB, with fast
retries, a recipients file naming the test's units and receivers, and returns a harness that
publishes events as the other services would and reads what notify stored and sent.
"""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from nats.aio.client import Client as NatsClient

from bench.notify_fakes import FakeReceiver, SmtpSink, publish
from devtools.keys import ensure_dev_keys
from dispatch_common.clock import Clock
from dispatch_common.crypto import PiiKeys, contact_aad, encrypt, load_pii_keys, mask_phone
from dispatch_common.envelope import Envelope
from dispatch_common.http import create_app
from dispatch_common.paths import DATA_DIR
from services.notify.bootstrap import build
from services.notify.config import NotifySettings
from services.notify.container import Notify
from services.notify.entrypoints import api
from tests.helpers import FAST_CONSUMERS, api_client, eventually, nats_identity

T = TypeVar("T")
GATEWAY_SECRET = "gateway-test-secret"
HOOK_SECRET = "hook-test-secret"
LEAD = {"code": "U-LEAD", "name": "测试主办单位", "type": "department", "role": "lead"}
ASSIST = {"code": "U-ASSIST", "name": "测试协办单位", "type": "department", "role": "assist"}
UNIT_PHONE = "13900001111"
UNIT_EMAIL = "lead-unit@county.example.invalid"
LEADER_EMAIL = "lead-leader@county.example.invalid"


def fast_settings(**overrides: Any) -> dict[str, Any]:
    """Settings that make retries, leases and polls short enough for a test."""
    return (
        FAST_CONSUMERS
        | {
            "consumer_max_deliver": 4,
            "outbox_poll_seconds": 0.1,
            "delivery_timeout_seconds": 0.5,
            "delivery_max_attempts": 4,
            "delivery_backoff_seconds": 0.05,
            "delivery_backoff_max_seconds": 0.4,
            "delivery_lease_seconds": 1.0,
            "sender_poll_seconds": 0.05,
            "quiet_hours": "",
            "channel_rate_limits": {"sms": 1000.0, "email": 1000.0, "webhook": 1000.0},
        }
        | overrides
    )


def write_recipients(path: Path, *, webhook_url: str) -> Path:
    """The demo recipients file with the test's units, their addresses, and one webhook subscriber."""
    data = json.loads((DATA_DIR / "notify" / "recipients.json").read_text(encoding="utf-8"))
    data["units"] = {
        LEAD["code"]: {
            "email": UNIT_EMAIL,
            "phone": UNIT_PHONE,
            "channels": ["inbox", "email"],
            "by_kind": {"overdue": ["inbox", "sms", "email"], "escalation": ["inbox", "sms", "email"]},
            "leader": {"email": LEADER_EMAIL, "channels": ["inbox", "email"]},
        }
    }
    data["webhooks"] = [{"name": "hotline", "url": webhook_url, "secret": "hotline", "kinds": ["reply"]}]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass
class Harness:
    """A running notify and its loopback counterparts."""

    notify: Notify
    gateway: FakeReceiver
    hooks: FakeReceiver
    smtp: SmtpSink
    keys: PiiKeys
    nc: NatsClient
    run_dir: Path

    def contact(self, phone: str, case_id: str) -> dict[str, Any]:
        """The petitioner view intake would publish for a phone number of a case."""
        token = encrypt(self.keys, phone, aad=contact_aad(case_id))
        return {"contact_token": token, "phone_masked": mask_phone(phone)}

    async def publish(self, event: Envelope) -> None:
        """Publish an event as its producer would."""
        await publish(self.nc.jetstream(), event)

    async def messages(self, case_id: str) -> list[dict[str, Any]]:
        """What notify stored for a case (whole documents)."""
        return [d async for d in self.notify.messages.notifications.find({"case_id": case_id})]

    async def settled(
        self,
        case_id: str,
        count: int,
        done: Callable[[dict[str, Any]], bool] | None = None,
        within: float = 20,
    ) -> list[dict[str, Any]]:
        """Wait until a case has `count` messages and each is settled (sent or dead, or `done`)."""
        check = done or (lambda d: d["status"] in ("sent", "dead"))

        async def probe() -> list[dict[str, Any]] | None:
            docs = await self.messages(case_id)
            return docs if len(docs) == count and all(check(d) for d in docs) else None

        waiting = eventually(probe, within=within, what=f"{count} settled messages of {case_id}")
        return await bounded(f"waiting for {count} settled messages", waiting, within + 10)

    def api(self, role: str, unit: str | None = None, subject: str | None = None) -> httpx.AsyncClient:
        """An HTTP client for notify's API as a role (the app runs in-process on the started runtime)."""
        app = create_app(self.notify.runtime, title="Notify", description="test", include=api.include)
        app.state.notify = self.notify
        app.state.resolvers = api.resolvers(self.notify)
        keys = self.run_dir / "keys"
        return api_client(app, keys, base_url="http://notify", role=role, unit=unit, subject=subject)


async def start_notify(
    *,
    nats_url: str,
    mongodb_url: str,
    run_dir: Path,
    nc: NatsClient,
    tmp_path: Path,
    clock: Clock | None = None,
    **overrides: Any,
) -> Harness:
    """Start notify with a fake gateway, webhook receiver and SMTP server."""
    ensure_dev_keys(run_dir / "keys")
    gateway, hooks, smtp = FakeReceiver(GATEWAY_SECRET), FakeReceiver(HOOK_SECRET), SmtpSink()
    await gateway.start()
    await hooks.start()
    smtp.start()
    values = fast_settings(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        mongodb_db_prefix=f"t{uuid.uuid4().hex[:10]}_",
        run_dir=run_dir,
        **nats_identity(run_dir, "notify"),
        recipients_file=write_recipients(tmp_path / "recipients.json", webhook_url=hooks.url),
        sms_gateway_url=gateway.url,
        sms_gateway_secret=GATEWAY_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="dispatch@county.example.invalid",
        webhook_secrets={"hotline": HOOK_SECRET},
    )
    settings = NotifySettings(**(values | overrides))
    notify = build(settings, clock=clock)
    await bounded("starting notify", notify.runtime.start(), 60)
    keys = load_pii_keys(environment="test", keys_dir=run_dir / "keys")
    return Harness(notify, gateway, hooks, smtp, keys, nc, run_dir)


def _report_hang(what: str) -> AssertionError:
    """Print where every task waits (a hang is otherwise only a pytest timeout), and say what hung."""
    for task in asyncio.all_tasks():
        task.print_stack(limit=8)
    return AssertionError(f"{what} did not finish; the stacks of every task are printed above")


async def bounded(what: str, step: Awaitable[T], seconds: float) -> T:
    """Await a step, or fail naming it with the tasks' stacks after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            return await step
    except TimeoutError:
        raise _report_hang(what) from None


async def stop_notify(h: Harness) -> None:
    """Stop notify and its counterparts."""
    await bounded("stopping notify", h.notify.runtime.stop(), 30)
    if h.notify.http is not None:
        await h.notify.http.aclose()
    await bounded("stopping the fake gateway", h.gateway.stop(), 30)
    await bounded("stopping the fake webhook receiver", h.hooks.stop(), 30)
    h.smtp.stop()
