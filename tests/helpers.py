"""Small helpers the tests share: waiting for an outcome, reading a stream, validating events, calling
a service in process."""

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from devtools.keys import issue_token
from devtools.nats_auth import seed_path
from dispatch_common.contracts import validate_event

T = TypeVar("T")

MONDAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
"""09:00 in the county on a Monday with no holiday that week: the moment the clocked tests start at."""

RELAY_FIELDS_OUT = {"outbox": 0, "outbox_pending": 0, "outbox_at": 0}
"""A projection without what the outbox relay changes on its own (it marks published events sent up to
OUTBOX_MARK_DELAY_SECONDS later): for comparing an aggregate's stored state before and after an action."""

FAST_CONSUMERS: dict[str, Any] = {
    "environment": "test",
    "consumer_backoff_seconds": [0.05, 0.1, 0.2],
    "consumer_max_deliver": 3,
    "consumer_ack_wait_seconds": 2.0,
    "outbox_poll_seconds": 0.2,
}
"""Settings that make a service's redeliveries and outbox polls short enough for a test."""


def nats_identity(run_dir: Path, user: str) -> dict[str, Any]:
    """The settings that make a service connect as a user of the generated identities."""
    return {"nats_nkey_seed_file": seed_path(run_dir / "keys", user)}


async def publish_as_ops(nats_url: str, run_dir: Path, event: dict[str, Any]) -> None:
    """Publish an event as the operators' user would (a test playing a service that is not running:
    a service's own user may publish only the event types that service produces)."""
    import nats

    from devtools.nats_auth import connect_options

    nc = await nats.connect(nats_url, **connect_options(run_dir / "keys", "ops"))
    try:
        body = json.dumps(event, ensure_ascii=False).encode()
        await nc.jetstream().publish(event["type"], body, headers={"Nats-Msg-Id": event["id"]})
    finally:
        await nc.drain()


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll until probe returns something truthy; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")


async def stream_messages(nc: NatsClient, stream: str, subject: str) -> list[tuple[dict[str, str], bytes]]:
    """Every message on a subject of a stream, read with an ephemeral ordered consumer."""
    js = nc.jetstream()
    info = await js.stream_info(stream)
    total = info.state.messages
    out: list[tuple[dict[str, str], bytes]] = []
    if total == 0:
        return out
    sub = await js.pull_subscribe(
        subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5)
    )
    try:
        while True:
            try:
                msgs = await sub.fetch(256, timeout=0.5)
            except TimeoutError:
                break
            for m in msgs:
                out.append((dict(m.headers or {}), m.data))
                await m.ack()
    finally:
        await sub.unsubscribe()
    return out


async def events_on(nc: NatsClient, subject: str, stream: str = "DISPATCH") -> list[dict[str, Any]]:
    """Every event on a subject, each checked against proto/."""
    events = []
    for headers, body in await stream_messages(nc, stream, subject):
        event = json.loads(body)
        validate_event(event)
        assert headers.get("Nats-Msg-Id") == event["id"], "events are published with Nats-Msg-Id = id"
        events.append(event)
    return events


def api_client(
    app: Any,
    keys_dir: Path,
    *,
    base_url: str,
    role: str,
    unit: str | None = None,
    subject: str | None = None,
) -> httpx.AsyncClient:
    """An HTTP client that calls a service's app in process, with a development token for a role."""
    token = issue_token(keys_dir, role=role, unit=unit, subject=subject)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
    )


def missing(reason: str) -> NoReturn:
    """A tool or file a test needs is not on this machine: CI (`CI` set, as `.ci/run` sets it) fails,
    since `.ci/run` installs it; a developer's machine skips, saying what is missing. Nothing is hidden
    where it counts."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must have it (.ci/run installs it)")
    # The one skip of the suite, justified: only outside CI, and only for a missing machine tool or font
    # (chromium, a CJK font), never for a failing assertion; CI fails above instead.
    pytest.skip(reason)
