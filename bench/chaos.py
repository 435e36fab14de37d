"""`make chaos`: a bounded chaos suite. The platform as `make run` starts it takes cases at a steady
rate (bench/case_mix.py's mix, through bench/e2e_load.py's platform and driver) while each part in turn
is killed with SIGKILL and started again: each of the five services, the NATS server, the store
(the embedded MongoDB server) and, on a three-node NATS cluster with streams of three copies, one
node. Submissions refused during a fault are sent again afterwards with the same Idempotency-Key, as a
client told `503` + `Retry-After` would. Once everything drained it counts, per case, the effects
lost and those that happened twice (bench/chaos_effects.py), the dead letters, and what clients saw
during each fault (answers by status; intake's /readyz while NATS was away).

Everything binds to 127.0.0.1 on free ports, runs for a bounded time and stops by itself. Figures go to
stdout and --out (default .bench/chaos.json); the exit status is 1 if any effect was lost or doubled.
"""

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from bench.case_mix import CaseMix
from bench.chaos_cluster import NatsCluster
from bench.chaos_effects import count_effects
from bench.e2e_load import GATEWAY_SECRET, drive, platform, requests_for
from bench.e2e_observe import wait_drained
from bench.notify_fakes import FakeReceiver
from devtools.keys import ensure_dev_keys, issue_token
from devtools.nats_auth import connect_options
from devtools.stack import SERVICES, Stack, free_port, wait_ready
from dispatch_common.paths import REPO_ROOT

SINGLE_NODE_FAULTS = (*SERVICES, "nats", "store")


async def _kill_and_restart(
    stack: Stack, cluster: NatsCluster | None, fault: str, down: float
) -> dict[str, Any]:
    """SIGKILL one part, leave it down for `down` seconds (looking at intake meanwhile), start it again."""
    seen: dict[str, Any] = {}
    if fault == "nats-node":
        assert cluster is not None
        cluster.procs[1].kill()
    else:
        name = {"nats": "nats-server", "store": "nx-27017"}.get(fault, fault)
        stack.procs[name].kill()
    await asyncio.sleep(down / 2)
    if fault in ("nats", "nats-node", "store"):
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(f"{stack.url('intake')}/readyz")
            body = answer.json()
            seen = {
                "intake_readyz": answer.status_code,
                "intake_status": body.get("status"),
                "owed": body.get("outbox", {}).get("owed_events"),
            }
    await asyncio.sleep(down / 2)
    if fault == "nats-node":
        assert cluster is not None
        cluster.procs[1].start()
    elif fault in ("nats", "store"):
        stack.procs["nats-server" if fault == "nats" else "nx-27017"].start()
    else:
        await asyncio.to_thread(stack.start_service, fault, wait=False)
        await asyncio.to_thread(
            wait_ready, f"{stack.url(fault)}/readyz", timeout=120, proc=stack.procs[fault]
        )
    return seen


async def _quiet(exc: Exception) -> None:
    """The observer's connection errors while a server is down are expected; it reconnects."""


async def _drained(nc: Any, within: float) -> tuple[float | None, int]:
    """`wait_drained`, asked again while a cluster elects its stream leaders (a request times out)."""
    import nats.errors

    for _ in range(10):
        try:
            return await wait_drained(nc, within=within)
        except (nats.errors.TimeoutError, TimeoutError):
            await asyncio.sleep(2)
    return await wait_drained(nc, within=within)


async def _phase(faults: tuple[str, ...], args: argparse.Namespace, *, clustered: bool) -> dict[str, Any]:
    """One platform, the faults one after the other under load, then the count."""
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    gateway = FakeReceiver(secret=GATEWAY_SECRET)
    await gateway.start(free_port())
    cluster = None
    settings = SimpleNamespace(nats_url=None, mongodb_url=None)
    if clustered:
        ensure_dev_keys(tmp / "keys")
        cluster = NatsCluster(tmp)
        await asyncio.to_thread(cluster.start)
        settings.nats_url = ",".join(cluster.urls)
    stack = platform(tmp, settings, int(gateway.url.split(":")[2].split("/")[0]))  # type: ignore[arg-type]
    stack.extra_env |= {"CONSUMER_ACK_WAIT_SECONDS": "10", "START_GIVE_UP_SECONDS": "120"}
    if clustered:
        stack.own_nats = True  # the cluster runs with the generated identities: each service uses its seed
        stack.extra_env["STREAM_REPLICAS"] = "3"
    watcher_nc = None
    report: dict[str, Any] = {"faults": {}}
    try:
        await asyncio.to_thread(stack.start)
        import nats

        url = settings.nats_url or stack.nats_url or ""
        watcher_nc = await nats.connect(
            url.split(","), **connect_options(tmp / "keys", "ops"), max_reconnect_attempts=-1
        )
        token = issue_token(tmp / "keys", role="reception_clerk")
        mix = CaseMix(repeat_share=0.1, incident_share=0.1, seed=args.seed)
        sent: dict[str, Any] = {}
        created: dict[str, str] = {}
        for fault in faults:
            requests = requests_for(
                mix, int(args.rate * args.seconds), stack.urls("intake"), token, f"chaos-{fault}"
            )
            load = asyncio.create_task(drive(requests, args.rate))
            await asyncio.sleep(args.seconds / 3)
            seen = await _kill_and_restart(stack, cluster, fault, args.down)
            driver, made, _ = await load
            for index, request in enumerate(requests):
                sent[f"{fault}-{index}"] = request
                if index in made:
                    created[f"{fault}-{index}"] = made[index]
            report["faults"][fault] = {"answers": dict(driver.outcomes), **seen}
            print(f"   {fault}: {dict(driver.outcomes)} {seen}", flush=True)
        retried = Counter()
        for attempt in range(args.retries):  # the clients that were refused send again, same key
            missing = [key for key in sent if key not in created]
            if not missing:
                break
            await asyncio.sleep(2 * attempt)
            driver, made, _ = await drive([sent[k] for k in missing], args.rate * 2)
            retried.update(driver.outcomes)
            for index, key in enumerate(missing):
                if index in made:
                    created[key] = made[index]
        report["resent"] = dict(retried)
        report["never_accepted"] = len(sent) - len(created)
        drained, lag = await _drained(watcher_nc, args.drain_timeout)
        report["drain_seconds"], report["lag_left"] = drained, lag
        prefix = stack.extra_env["MONGODB_DB_PREFIX"]
        assert stack.mongodb_url is not None
        report |= await count_effects(stack.mongodb_url, prefix, set(created.values()), watcher_nc)
        dlq = await watcher_nc.jetstream().stream_info("DLQ")
        report["dead_letters"] = dlq.state.messages
        report["gateway_repeats_refused"] = gateway.duplicates
        return report
    finally:
        if watcher_nc is not None:
            await watcher_nc.close()
        await asyncio.to_thread(stack.stop)
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        await gateway.stop()
        if args.keep:
            print(f"   logs kept in {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    """Run both phases; print and write the figures; fail if an effect was lost or doubled."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10.0, help="cases per second during each fault")
    parser.add_argument("--seconds", type=float, default=12.0, help="load per fault")
    parser.add_argument("--down", type=float, default=4.0, help="seconds a killed part stays down")
    parser.add_argument("--faults", default=",".join((*SINGLE_NODE_FAULTS, "nats-node")))
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "chaos.json")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    wanted = tuple(f for f in args.faults.split(",") if f)
    started = time.monotonic()
    results = {}
    single = tuple(f for f in wanted if f in SINGLE_NODE_FAULTS)
    if single:
        print(f"-- one NATS node: {', '.join(single)}", flush=True)
        results["single_node"] = asyncio.run(_phase(single, args, clustered=False))
    if "nats-node" in wanted:
        print("-- a three-node NATS cluster: one node", flush=True)
        results["cluster"] = asyncio.run(_phase(("nats-node",), args, clustered=True))
    results["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(results, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "chaos", **results}, indent=1))
    bad = any(
        sum(r["lost"].values()) or sum(r["duplicated"].values()) for k, r in results.items() if k != "seconds"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
