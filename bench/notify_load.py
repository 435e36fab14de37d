"""Notify under load: messages per second through the inbox and the SMS gateway, and the delay from a
lifecycle event to its message being sent (target: p99 under 1 s at 100 events per second).

Starts its own nats-server, embedded MongoDB server and notify on free ports (or uses --mongodb-url
and --nats-url, with databases of a fresh prefix), and a loopback HTTP server in this process as the
SMS gateway. Two runs:

- steady: `dispatch.case.screened` events at --rate per second for --seconds, half from petitioners
  with a phone (an acceptance SMS through the gateway), half anonymous (an inbox notice); the delay
  of each message is its `sent_at` minus the time of the event that caused it;
- burst: --burst events of each kind published at once; messages per second is how many were sent
  over the time from the first event to the last message sent.

Bounded in count and time; everything it starts stops when it ends. Figures as JSON on the last line.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
from pymongo import AsyncMongoClient

from bench.figures import cpu_seconds, latency_figures
from bench.notify_fakes import FakeReceiver, publish, screened
from devtools.stack import Stack, free_port
from dispatch_common.clock import as_utc
from dispatch_common.crypto import contact_aad, encrypt, load_pii_keys, mask_phone

SECRET = "bench-gateway-secret"


async def _events(keys: Any, count: int, *, sms_share: float) -> list[Any]:
    out = []
    for i in range(count):
        case_id, case_no = str(uuid.uuid4()), f"990102-2026-{i % 10**6:06d}"
        if random.random() < sms_share:
            phone = f"139{random.randrange(10**8):08d}"
            token = encrypt(keys, phone, aad=contact_aad(case_id))
            out.append((case_id, case_no, {"contact_token": token, "phone_masked": mask_phone(phone)}))
        else:
            out.append((case_id, case_no, {"anonymous": True}))
    return out


async def _wait_settled(col: Any, expected: int, within: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    docs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        docs = [
            d
            async for d in col.find({}, {"cause_time": 1, "sent_at": 1, "channel": 1, "status": 1, "run": 1})
        ]
        if len(docs) >= expected and all(d["status"] in ("sent", "dead") for d in docs):
            break
        await asyncio.sleep(0.25)
    return docs


async def run(stack: Stack, keys: Any, gateway: FakeReceiver, args: argparse.Namespace, db_name: str) -> dict:
    """Drive the steady and the burst runs; the figures."""
    nc = await nats.connect(**stack.nats_options())
    js = nc.jetstream()
    mongo: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    col = mongo[db_name]["notifications"]
    result: dict[str, Any] = {"rate": args.rate, "seconds": args.seconds}
    try:
        pid = stack.procs["notify"].popen.pid  # type: ignore[union-attr]
        cpu_before = cpu_seconds(pid)
        planned = await _events(keys, int(args.rate * args.seconds), sms_share=0.5)
        start = time.perf_counter()
        for i, (case_id, case_no, contact) in enumerate(planned):
            delay = start + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await publish(js, screened(case_id, case_no, **contact))
        docs = await _wait_settled(col, len(planned), within=args.seconds + 60)
        by_channel: dict[str, list[float]] = {}
        for d in docs:
            if d["status"] == "sent" and isinstance(d.get("sent_at"), datetime):
                delay_ms = (as_utc(d["sent_at"]) - as_utc(d["cause_time"])).total_seconds() * 1000
                by_channel.setdefault(d["channel"], []).append(delay_ms)
        result["steady"] = {
            "events": len(planned),
            "messages": len(docs),
            "dead": sum(1 for d in docs if d["status"] == "dead"),
            "event_to_sent": {ch: latency_figures(v) for ch, v in sorted(by_channel.items())},
            "event_to_sent_all": latency_figures([x for v in by_channel.values() for x in v]),
        }
        cpu_after = cpu_seconds(pid)
        if cpu_before is not None and cpu_after is not None:
            result["steady"]["notify_cpu_ms_per_event"] = round(
                (cpu_after - cpu_before) * 1000 / len(planned), 2
            )

        for channel, share in (("inbox", 0.0), ("sms", 1.0)):
            await col.delete_many({})
            burst = await _events(keys, args.burst, sms_share=share)
            began = time.perf_counter()
            await asyncio.gather(*(publish(js, screened(c, n, **contact)) for c, n, contact in burst))
            published = time.perf_counter() - began
            docs = await _wait_settled(col, len(burst), within=120)
            sent = [d for d in docs if d["status"] == "sent"]
            first = min(as_utc(d["cause_time"]) for d in docs)
            last = max(as_utc(d["sent_at"]) for d in sent)
            seconds = (last - first).total_seconds()
            result[f"burst_{channel}"] = {
                "messages": len(sent),
                "publish_seconds": round(published, 2),
                "seconds": round(seconds, 2),
                "messages_per_second": round(len(sent) / seconds, 1) if seconds > 0 else None,
            }
        result["gateway"] = {"requests": len(gateway.requests), "duplicates": gateway.duplicates}
    finally:
        await mongo.close()
        await nc.drain()
    return result


def main() -> None:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in the steady run")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=2000, help="events of each kind in the burst runs")
    parser.add_argument("--sms-rate-limit", type=float, default=1000.0, help="the SMS channel's rate limit")
    parser.add_argument("--mongodb-url", help="use this MongoDB (fresh databases) instead of nx")
    parser.add_argument("--nats-url", help="measure on this NATS server instead of a local nats-server")
    args = parser.parse_args()

    async def with_gateway() -> dict:
        gateway = FakeReceiver(SECRET)
        await gateway.start()
        prefix = f"bench_{random.randrange(16**8):08x}_"
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(
                run_dir=Path(tmp),
                ports={"notify": free_port()},
                nats_url=args.nats_url,
                mongodb_url=args.mongodb_url,
                extra_env={
                    "ENVIRONMENT": "test",
                    "LOG_LEVEL": "WARNING",
                    "MONGODB_DB_PREFIX": prefix,
                    "SMS_GATEWAY_URL": gateway.url,
                    "SMS_GATEWAY_SECRET": SECRET,
                    "QUIET_HOURS": "",
                    "CHANNEL_RATE_LIMITS": json.dumps({"sms": args.sms_rate_limit}),
                    "SENDER_CONCURRENCY": "64",
                },
            )
            keys = load_pii_keys(environment="test", keys_dir=Path(tmp) / "keys")
            try:
                await asyncio.to_thread(stack.start, ("notify",))
                return await run(stack, keys, gateway, args, f"{prefix}notify")
            finally:
                await asyncio.to_thread(stack.stop)
                await gateway.stop()

    result = asyncio.run(with_gateway())
    print(json.dumps({"benchmark": "notify_load", **result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
