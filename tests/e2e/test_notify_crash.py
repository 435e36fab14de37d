"""Notify as a real process, killed while messages are in flight at a slow gateway, then restarted.

The gateway (a loopback HTTP server) takes each message slowly; the test kills notify (SIGKILL)
while tries are under way, lets the gateway finish them, and starts notify again. Every message
must end `sent`, the gateway must have taken each exactly once (a repeat carries the same
idempotency key and is answered 409), and the SMTP server must hold one e-mail per e-mail message,
however the events were redelivered.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from bench.notify_fakes import FakeReceiver, SmtpSink, assigned, publish, screened
from devtools.keys import issue_token
from devtools.stack import Stack, free_port
from dispatch_common.crypto import contact_aad, encrypt, load_pii_keys, mask_phone
from tests.helpers import eventually
from tests.notify_support import GATEWAY_SECRET, LEAD, write_recipients

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    gateway, smtp = FakeReceiver(GATEWAY_SECRET), SmtpSink()
    await gateway.start()
    smtp.start()
    hooks = FakeReceiver("unused")
    await hooks.start()
    env = {
        "ENVIRONMENT": "test",
        "SMS_GATEWAY_URL": gateway.url,
        "SMS_GATEWAY_SECRET": GATEWAY_SECRET,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "dispatch@county.example.invalid",
        "RECIPIENTS_FILE": str(write_recipients(tmp_path / "recipients.json", webhook_url=hooks.url)),
        "DELIVERY_TIMEOUT_SECONDS": "10",
        "DELIVERY_LEASE_SECONDS": "2",
        "DELIVERY_BACKOFF_SECONDS": "0.1",
        "SENDER_POLL_SECONDS": "0.1",
        "QUIET_HOURS": "",
        "CONSUMER_ACK_WAIT_SECONDS": "3",
        "CONSUMER_BACKOFF_SECONDS": "[0.2, 0.5]",
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    stack = Stack(run_dir=tmp_path / "run", ports={"notify": free_port()}, extra_env=env)
    try:
        await asyncio.to_thread(stack.start, ("notify",))
        nc = await nats.connect(**stack.nats_options())
        yield {"stack": stack, "gateway": gateway, "smtp": smtp, "nc": nc}
        await nc.drain()
    finally:
        await asyncio.to_thread(stack.stop)
        await gateway.stop()
        await hooks.stop()
        smtp.stop()


async def test_a_notify_crash_mid_send_and_a_restart_deliver_every_message_exactly_once(world):
    stack: Stack = world["stack"]
    gateway: FakeReceiver = world["gateway"]
    smtp: SmtpSink = world["smtp"]
    keys = load_pii_keys(environment="test", keys_dir=stack.run_dir / "keys")
    token = issue_token(stack.run_dir / "keys", role="dispatcher")
    js = world["nc"].jetstream()

    gateway.default, gateway.slow_seconds = "slow", 3.0  # every SMS is in flight for 3 s
    cases = []
    for n in range(4):
        case_id, case_no = str(uuid.uuid4()), f"990102-2026-{uuid.uuid4().int % 10**6:06d}"
        phone = f"1381234{n:04d}"
        sealed = encrypt(keys, phone, aad=contact_aad(case_id))
        contact = {"contact_token": sealed, "phone_masked": mask_phone(phone)}
        await publish(js, screened(case_id, case_no, **contact))
        await publish(js, assigned(case_id, case_no, LEAD))
        cases.append(case_id)

    async def in_flight() -> bool:
        return len(gateway.requests) >= 2

    await eventually(in_flight, within=30, what="SMS tries in flight at the gateway")
    stack.procs["notify"].kill()  # SIGKILL: no drain, claims left behind, events not acknowledged
    gateway.default = "ok"  # the slow tries still finish at the gateway, after notify died
    await asyncio.to_thread(stack.start_service, "notify")

    async with httpx.AsyncClient(
        base_url=stack.url("notify"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:

        async def all_settled() -> list[dict[str, Any]] | None:
            items = []
            for case_id in cases:
                r = await client.get("/v1/notifications", params={"case_id": case_id})
                items += r.json()["items"]
            # per case: acceptance SMS, assignment SMS, unit inbox, unit e-mail
            done = len(items) == 4 * len(cases) and all(i["status"] in ("sent", "dead") for i in items)
            return items if done else None

        items = await eventually(all_settled, within=90, what="every message settled after the restart")

    sms = [i for i in items if i["channel"] == "sms"]
    emails = [i for i in items if i["channel"] == "email"]
    assert len(sms) == 2 * len(cases) and all(i["status"] == "sent" for i in sms), json.dumps(sms)

    async def gateway_idle() -> bool:
        return not gateway.taking  # the tries cut off by the crash finish at the gateway

    await eventually(gateway_idle, within=30, what="the gateway to finish the tries in progress")
    # the gateway took each SMS exactly once, under the message's id
    assert sorted(gateway.delivered) == sorted(i["id"] for i in sms)
    assert {r.key for r in gateway.requests} == set(gateway.delivered)
    # the tries cut off by the crash were sent again under the same key, and recognised as repeats
    assert gateway.duplicates >= 1
    # e-mail: one per message sent; one cut off by the crash is dead (SMTP cannot confirm), never resent
    # (such a one may have reached the server just before the crash: then it is there once, never twice)
    received = [m["Message-ID"].strip("<>").split("@")[0] for m in smtp.messages]
    assert len(received) == len(set(received))
    assert {i["id"] for i in emails if i["status"] == "sent"} <= set(received) <= {i["id"] for i in emails}
    assert all(i["status"] == "sent" or "cannot confirm" in (i["dead_reason"] or "") for i in emails)
