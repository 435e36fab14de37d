"""Intake under a steady load: throughput and p50/p95/p99 latency of POST /v1/cases at a fixed rate.

Starts its own nats-server, embedded MongoDB server and intake on free ports (or uses --mongodb-url
and --nats-url, with databases of a fresh prefix), sends requests open-loop at --rate per second for
--seconds, and prints the figures as JSON on the last line. Bounded in count and time; everything
it starts stops when it ends.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.figures import cpu_seconds, latency_figures
from bench.http_driver import OpenLoopDriver, post
from devtools.keys import issue_token
from devtools.stack import SERVICES, Stack, free_port
from dispatch_common.paths import DEFAULT_COUNTY_DIR

TEXTS = [
    "楼下广场舞音响太吵，每天晚上放到十点多。",
    "小区停水两天了，也没有提前通知。",
    "路边垃圾桶满了好几天没人清运，臭味很大。",
    "装修公司拖欠工人工资三个月。",
    "小区电梯经常困人，物业不管。",
    "路灯坏了一个月没人修，晚上出行不安全。",
]


def places(county_dir: Path = DEFAULT_COUNTY_DIR) -> list[dict]:
    """Where the load's requests come from: every gazetteer place, as address text or a nearby point.

    Half the requests carry coordinates within about 200 m of the place and half only the address, as
    hotline calls do; with a hundred-odd places over the run, places repeat and incidents form.
    """
    out: list[dict] = []
    for place in json.loads((county_dir / "gazetteer.json").read_text(encoding="utf-8")):
        out.append({"address": place["name"]})
        jitter = random.uniform(-0.002, 0.002), random.uniform(-0.002, 0.002)
        out.append({"lon": round(place["lon"] + jitter[0], 6), "lat": round(place["lat"] + jitter[1], 6)})
    random.shuffle(out)
    return out


async def drive(bases: list[str], token: str, *, rate: float, seconds: float, samples: list[dict]) -> dict:
    """Send requests open-loop at a fixed rate; latency counts from the scheduled send time.

    Requests go to the replicas in turn, as a Kubernetes Service spreads connections. The driver is
    bench/http_driver.py: aiohttp's client took a tenth of a core from the services it measured, and
    httpx's pool a whole one.
    """
    total = int(rate * seconds)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    targets = [(url.hostname or "127.0.0.1", url.port or 80) for url in map(urlsplit, bases)]
    requests = [
        post(
            targets[i % len(targets)],
            "/v1/cases",
            json.dumps(
                {
                    "channel": "hotline_12345",
                    "text": random.choice(TEXTS),
                    **{k: sample[k] for k in ("address", "lon", "lat") if k in sample},
                    "petitioner": {"phone": f"139{random.randrange(10**8):08d}"},
                },
                ensure_ascii=False,
            ).encode(),
            headers,
        )
        for i, sample in enumerate(samples[i % len(samples)] for i in range(total))
    ]
    driver = OpenLoopDriver()
    elapsed = await driver.run(requests, rate)
    return {
        "requests": len(driver.latencies),
        "rate_target": rate,
        "throughput_rps": round(len(driver.latencies) / elapsed, 1),
        **latency_figures(driver.latencies),
        "statuses": dict(driver.outcomes),
    }


def main() -> None:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="intake processes sharing the load, like deploy/base's 2 replicas (1 is faster on 2 cores)",
    )
    parser.add_argument("--mongodb-url", help="use this MongoDB (fresh databases) instead of nx")
    parser.add_argument("--nats-url", help="measure on this NATS server instead of a local nats-server")
    args = parser.parse_args()
    samples = places()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(
            run_dir=Path(tmp),
            ports={s: free_port() for s in SERVICES},
            nats_url=args.nats_url,
            mongodb_url=args.mongodb_url,
            extra_env={
                "ENVIRONMENT": "test",
                "LOG_LEVEL": "WARNING",
                "RATE_LIMIT_ENABLED": "false",  # one token sends the whole load: measured unthrottled
                "MONGODB_DB_PREFIX": f"bench_{random.randrange(16**8):08x}_",
            },
        )
        try:
            stack.start(("intake",))
            for number in range(2, args.replicas + 1):
                stack.start_replica("intake", number)
            bases = stack.urls("intake")
            token = issue_token(Path(tmp) / "keys", role="reception_clerk")
            asyncio.run(drive(bases, token, rate=args.rate, seconds=args.warmup, samples=samples))
            pids = {name: proc.popen.pid for name, proc in stack.procs.items() if proc.popen}
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            driver_before = time.process_time()
            result = asyncio.run(drive(bases, token, rate=args.rate, seconds=args.seconds, samples=samples))
            used: dict[str, float] = {}
            for name, pid in pids.items():
                if before[name] is not None:
                    role = name.split("#")[0]  # the replicas of intake count together
                    used[role] = used.get(role, 0.0) + cpu_seconds(pid) - before[name]  # type: ignore[operator]
            result["replicas"] = args.replicas
            result["cpu_ms_per_request"] = {
                name: round(spent * 1000 / result["requests"], 2) for name, spent in used.items()
            }
            # the load generator shares the machine: its own cost is part of the picture
            driver_ms = (time.process_time() - driver_before) * 1000 / result["requests"]
            result["cpu_ms_per_request"]["load generator"] = round(driver_ms, 2)
        finally:
            stack.stop()
    print(json.dumps({"benchmark": "intake_load", **result}))


if __name__ == "__main__":
    main()
