"""The platform end to end: realistic cases through all five services at once, at given rates.

For each rate it starts the platform as `make run` does (a real nats-server and the embedded MongoDB
server on free ports, unless --nats-url/--mongodb-url are given; the five services, tracing to
files; `--replicas` processes of each service), with an SMS gateway stand-in in a process of its own
(notices are sent, not left queued; quiet hours off, the SMS rate limit above the load's). It
measures the store's own ceiling, warms up, then sends cases open-loop at the rate for --seconds
(bench/case_mix.py: the demo county's labelled cases, with repeats and incidents), waits until
every consumer has drained, and reports:

- accepted/s; intake's latency (p50/p99 from the scheduled send);
- submit -> `dispatch.case.assigned` and submit -> the acceptance notice sent (p50/p99);
- the drain time after the last request;
- CPU ms per case of each process (the load driver's own apart), memory per process;
- MongoDB commands per case per service (counted by each service: `dispatch_mongodb_commands_total`);
- JetStream messages and deliveries per case;
- the store's ceiling (operations/s by kind), the case rate the store alone could carry at the
  measured commands per case, and the ratio of the achieved rate to it.

A table goes to stdout and the figures as JSON to --out (default .bench/e2e_load.json). Everything
it starts binds to 127.0.0.1 and stops when it ends.
"""

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import store_ceiling
from bench.case_mix import CaseMix
from bench.e2e_observe import Watcher, bus_state, process_state, wait_drained
from bench.e2e_report import figures, print_table
from bench.figures import cpu_seconds
from bench.http_driver import OpenLoopDriver, Request, post
from devtools.keys import issue_token
from devtools.nats_auth import connect_options
from devtools.stack import SERVICES, Proc, Stack, _wait_port, free_port
from dispatch_common.paths import REPO_ROOT

GATEWAY_SECRET = "bench-gateway-secret"
WARMUP_RATE, WARMUP_SECONDS = 5.0, 4.0


def requests_for(mix: CaseMix, count: int, bases: list[str], token: str, run: str) -> list[Request]:
    """`count` pre-encoded submissions, spread over the intake processes in turn, each with its own
    Idempotency-Key as the API asks of clients that retry."""
    targets = [(u.hostname or "127.0.0.1", u.port or 80) for u in map(urlsplit, bases)]
    out = []
    for i, (_, body) in enumerate(mix.bodies(count)):
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"{run}-{i}",
        }
        data = json.dumps(body, ensure_ascii=False).encode()
        out.append(post(targets[i % len(targets)], "/v1/cases", data, headers))
    return out


async def drive(requests: list[Request], rate: float) -> tuple[OpenLoopDriver, dict[int, str], float]:
    """Send open-loop; the driver (latencies, outcomes), the case id each request created, and the
    loop time of the first scheduled send."""
    created: dict[int, str] = {}

    def on_answer(index: int, outcome: str, body: bytes) -> None:
        if outcome in ("200", "201"):
            created[index] = json.loads(body)["case_id"]

    driver = OpenLoopDriver(on_answer=on_answer, timeout=30.0)
    started = asyncio.get_running_loop().time()
    await driver.run(requests, rate)
    return driver, created, started


def platform(tmp: Path, args: argparse.Namespace, gateway_port: int) -> Stack:
    """The platform as `make run` starts it, with notices going to the gateway stand-in."""
    return Stack(
        run_dir=tmp,
        ports={s: free_port() for s in SERVICES},
        nats_url=args.nats_url,
        mongodb_url=args.mongodb_url,
        extra_env={
            "LOG_LEVEL": "WARNING",
            "MONGODB_DB_PREFIX": f"e2e_{random.randrange(16**8):08x}_",
            "SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}/send",
            "SMS_GATEWAY_SECRET": GATEWAY_SECRET,
            "QUIET_HOURS": "",
            "CHANNEL_RATE_LIMITS": json.dumps({"sms": 2000, "email": 100, "webhook": 500}),
            # one token sends the whole load: limits far above it, so the limiter's cost is measured
            # but it refuses nothing
            "RATE_LIMITS": json.dumps(
                {
                    kind: {"requests": 10_000_000, "window_seconds": 60, "burst": 100_000}
                    for kind in ("submit", "read")
                }
            ),
        },
    )


async def measure(rate: float, args: argparse.Namespace) -> dict[str, Any]:
    """One rate on a fresh platform: the figures of `bench.e2e_report.figures`."""
    tmp = Path(tempfile.mkdtemp(prefix="e2e-load-"))
    gateway_port = free_port()
    gateway = Proc(
        "sms-gateway",
        [sys.executable, "-m", "bench.notify_fakes", "--port", str(gateway_port), "--secret", GATEWAY_SECRET],
        tmp / "logs" / "sms-gateway.log",
    )
    stack = platform(tmp, args, gateway_port)
    watcher = Watcher()
    try:
        gateway.start()
        await asyncio.to_thread(_wait_port, gateway_port, 20, gateway.popen, gateway.name)  # type: ignore[arg-type]
        await asyncio.to_thread(stack.start)
        for service in SERVICES:
            for number in range(2, args.replicas + 1):
                await asyncio.to_thread(stack.start_replica, service, number)
        # the operators' identity that make run generates (a given NATS_URL: whatever NATS_* says)
        await watcher.start(
            stack.nats_url or "", **(connect_options(tmp / "keys", "ops") if stack.own_nats else {})
        )
        assert stack.mongodb_url is not None
        store_proc = stack.procs.get("nx-27017")
        store_pid = store_proc.popen.pid if store_proc and store_proc.popen else None
        store_cpu = cpu_seconds(store_pid) if store_pid else None
        ceiling = await store_ceiling.measure(stack.mongodb_url, seconds=args.ceiling_seconds)
        store_ms_per_op = None  # the embedded server's own CPU per operation, at its ceiling
        if store_cpu is not None and store_pid:
            used_ms = ((cpu_seconds(store_pid) or store_cpu) - store_cpu) * 1000
            ceiling_ops = sum(ceiling.values()) * args.ceiling_seconds
            store_ms_per_op = round(used_ms / ceiling_ops, 3) if ceiling_ops else None
        token = issue_token(tmp / "keys", role="reception_clerk")
        bases = stack.urls("intake")
        mix = CaseMix(repeat_share=args.repeat_share, incident_share=args.incident_share, seed=args.seed)
        warmup = requests_for(mix, int(WARMUP_RATE * WARMUP_SECONDS), bases, token, "warmup")
        await drive(warmup, WARMUP_RATE)
        await wait_drained(watcher.client, within=120)

        pids = {name: proc.popen.pid for name, proc in stack.procs.items() if proc.popen}
        urls = {service: stack.url(service) for service in SERVICES}
        urls |= {f"{s}#{i + 2}": u for s in SERVICES for i, u in enumerate(stack.replica_urls.get(s, []))}
        requests = requests_for(mix, int(rate * args.seconds), bases, token, "load")
        idle_from = await process_state(pids, urls)  # the platform's own cost with no case in flight
        await asyncio.sleep(args.idle_seconds)
        idle = (idle_from, await process_state(pids, urls), args.idle_seconds)
        before_bus, before_procs = await bus_state(watcher.client), await process_state(pids, urls)
        driver_cpu = time.process_time()
        driver, created, started = await drive(requests, rate)
        load_seconds = asyncio.get_running_loop().time() - started
        drain_seconds, lag_left = await wait_drained(watcher.client, within=args.drain_timeout)
        driver_cpu = time.process_time() - driver_cpu
        after_bus, after_procs = await bus_state(watcher.client), await process_state(pids, urls)
        return figures(
            rate=rate,
            load_seconds=load_seconds,
            driver=driver,
            created=created,
            started=started,
            watcher=watcher,
            drain=(drain_seconds, lag_left),
            bus=(before_bus, after_bus),
            procs=(before_procs, after_procs),
            idle=idle,
            driver_cpu_s=driver_cpu,
            ceiling=ceiling,
            store_ms_per_op=store_ms_per_op,
            replicas=args.replicas,
        )
    finally:
        await watcher.stop()
        await asyncio.to_thread(stack.stop)
        gateway.stop()
        if args.keep:
            print(f"   logs and traces kept in {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    """Measure each rate and print the table; write the figures as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="10,20,25,50,100", help="cases per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each rate is offered")
    parser.add_argument("--replicas", type=int, default=1, help="processes per service")
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds to wait for the backlog")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="idle time measured before the load")
    parser.add_argument("--ceiling-seconds", type=float, default=2.0, help="per kind of store operation")
    parser.add_argument("--repeat-share", type=float, default=0.10)
    parser.add_argument("--incident-share", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--mongodb-url", help="use this MongoDB (fresh databases), not the embedded one")
    parser.add_argument("--nats-url", help="use this NATS server instead of a local nats-server")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "e2e_load.json")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (logs, traces)")
    args = parser.parse_args()
    results = []
    for rate in (float(r) for r in args.rates.split(",")):
        print(f"-- {rate:g} cases/s for {args.seconds:g} s ...", flush=True)
        results.append(asyncio.run(measure(rate, args)))
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "e2e_load", "runs": results}, ensure_ascii=False, indent=1))
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
