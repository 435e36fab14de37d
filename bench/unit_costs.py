"""The floor under the cost of a case: what each unit of the platform's work costs in CPU here.

    .venv/bin/python -m bench.unit_costs [--n 2000] [--e2e .bench/e2e_load.json]

Issue 20 asks for at most 15 ms of CPU per case across all processes. Whatever the services do with a
case, it arrives as an HTTP request at intake, moves as events that JetStream takes and delivers to
the services that act on them, and is kept by commands to the store. This bench measures each of
those units alone, one after another, through the platform's own code (its middleware, telemetry with
the default exporter, command counting and spans, contract checks, acknowledgements), so that a
case's measured cost can be set against its floor:

- `request`: intake's `GET /v1/cases/{id}` for a case that does not exist (a 404), as a reception
  clerk, one at a time: intake's and the store's CPU per request, less its store commands (counted)
  at their unit cost: the HTTP stack's own share;
- `find`, `insert`, `update`, `findAndModify`: a command from this process through the services'
  client (dispatch_common.store.connect, command spans on): this process's and the store's CPU, each
  apart too (`_client_ms`, `_store_ms`: with `--mongodb-url` only the client's is measured);
- `publish` and `delivery`: an event through a Runtime's Bus (contract check, trace headers,
  Nats-Msg-Id, acknowledgement awaited) to one durable consumer, then to two (fetch, decode, check,
  span, handler, ack): this process's and nats-server's CPU per event; the second consumer's share is
  a delivery's. One event at a time, and in bursts of `--burst` (as under load, batched).

It prints the units, and a case's floor at the counts of the last `bench.e2e_load` run (its lowest
rate) and at a lean design (`LEAN`): one request, and per case the fewest events, deliveries and
commands that registering, routing, supervising and notifying need. Figures, never pass/fail.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from pymongo import ReturnDocument

from bench.e2e_observe import process_state
from bench.figures import cpu_seconds
from bench.notify_fakes import mediation_opened
from bench.store_ceiling import KIND_OF, PAYLOAD
from devtools.keys import issue_token
from devtools.nats_auth import seed_path
from devtools.stack import Stack, free_port
from dispatch_common import store, subjects
from dispatch_common.consumer import Delivery
from dispatch_common.paths import REPO_ROOT
from dispatch_common.runtime import Runtime
from dispatch_common.settings import ServiceSettings
from dispatch_common.telemetry import setup_tracing, shutdown_tracing

LEAN = {"requests": 1, "events": 4, "deliveries": 8, "commands": {"find": 3, "insert": 4, "update": 1}}
"""A lean case: registered (one request; received and screened as one event), routed, assigned and
its acceptance notice sent (four events), each heard by two services (eight deliveries); a find for
repeats, one write per service per step and the case number (eight commands)."""
TARGET_MS = 15.0


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each given process, and of this one (`self`)."""
    return {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()} | {"self": time.process_time()}


async def _per_unit(
    unit: Callable[[int], Awaitable[Any]], n: int, pids: dict[str, int], *, own: bool = True, warm: int = 50
) -> dict[str, float]:
    """CPU ms per call of `unit(i)`, called `n` times one after another: in total (the given processes,
    and this one when `own`) and by process, after `warm` calls that are not counted (imports, caches,
    connections)."""
    for i in range(min(warm, n)):
        await unit(-1 - i)
    before = _cpu(pids)
    for i in range(n):
        await unit(i)
    after = _cpu(pids)
    each = {name: (after[name] - before[name]) * 1000 / n for name in after if own or name != "self"}
    return {"total": round(sum(each.values()), 3)} | {name: round(ms, 3) for name, ms in each.items()}


async def commands(url: str, n: int, store_pid: int | None) -> dict[str, float]:
    """CPU ms per command of each kind, in total and by side: this process (the services' client) and
    the store (when it runs here)."""
    client = store.connect(url, app_name="bench-units", trace_commands=True)
    db = client[f"units_{random.randrange(16**8):08x}"]
    col, counters = db["docs"], db["counters"]
    try:
        await col.insert_many([{"_id": f"d{i}", "version": 1, "text": PAYLOAD} for i in range(1000)])
        kinds: dict[str, Callable[[int], Awaitable[Any]]] = {
            "find": lambda i: col.find_one({"_id": f"d{i % 1000}"}),
            "insert": lambda i: col.insert_one({"_id": f"n{i}", "version": 1, "text": PAYLOAD}),
            "update": lambda i: col.update_one(
                {"_id": f"d{i % 1000}"}, {"$set": {"text": PAYLOAD, "n": i}, "$inc": {"version": 1}}
            ),
            "findAndModify": lambda i: counters.find_one_and_update(
                {"_id": "c"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
            ),
        }
        pids = {"store": store_pid} if store_pid else {}
        figures: dict[str, float] = {}
        for kind, unit in kinds.items():
            cost = await _per_unit(unit, n, pids)
            figures |= {f"{kind}_ms": cost["total"], f"{kind}_client_ms": cost["self"]}
            if store_pid:
                figures[f"{kind}_store_ms"] = cost["store"]
        # the same find from a client without command spans (TRACE_MONGODB_COMMANDS=false): what they cost
        plain = store.connect(url, app_name="bench-units-plain", trace_commands=False)
        try:
            docs = plain[db.name]["docs"]
            cost = await _per_unit(lambda i: docs.find_one({"_id": f"d{i % 1000}"}), n, {})
            figures["find_client_without_spans_ms"] = cost["self"]
        finally:
            await plain.close()
        return figures
    finally:
        await client.drop_database(db.name)
        await client.close()


async def requests(stack: Stack, n: int, unit_ms: dict[str, float]) -> dict[str, float]:
    """CPU ms per request of intake and the store, and the HTTP stack's share (less the commands)."""
    token = issue_token(stack.keys_dir, role="reception_clerk")
    pids = {"intake": stack.procs["intake"].popen.pid}  # type: ignore[union-attr]
    if "nx-27017" in stack.procs:
        pids["store"] = stack.procs["nx-27017"].popen.pid  # type: ignore[union-attr]
    urls = {"intake": stack.url("intake")}
    async with httpx.AsyncClient(
        base_url=stack.url("intake"), headers={"Authorization": f"Bearer {token}"}
    ) as http:
        calls = 0

        async def get(_: int) -> None:
            nonlocal calls
            answer = await http.get(f"/v1/cases/{uuid.uuid4()}")
            assert answer.status_code == 404, answer.text
            calls += 1

        await get(0)
        before, calls = await process_state(pids, urls), 0
        per_request = (await _per_unit(get, n, pids, own=False))["total"]
        after = await process_state(pids, urls)
    sent = {
        name: count - before["intake"]["mongodb"].get(name, 0.0)
        for name, count in after["intake"]["mongodb"].items()
    }
    per: dict[str, float] = {}
    for name, count in sent.items():  # by command, over the collections
        per[name.split(" ")[0]] = per.get(name.split(" ")[0], 0.0) + count / calls  # warm-up ones too
    commands_ms = sum(count * unit_ms.get(KIND_OF.get(name, "find"), 0.0) for name, count in per.items())
    return {
        "request_ms": per_request,
        "commands_per_request": round(sum(per.values()), 2),
        "http_stack_ms": round(per_request - commands_ms, 3),
    }


async def events(stack: Stack, n: int, burst: int, tmp: Path) -> dict[str, float]:
    """CPU ms per event published and delivered once, and per extra delivery, one at a time and in
    bursts: this process (publisher and consumers) and nats-server."""
    nats = stack.procs.get("nats-server")
    nats_pid = nats.popen.pid if nats and nats.popen else None
    one = await _events(stack, n, burst, consumers=1, tmp=tmp, nats_pid=nats_pid)
    two = await _events(stack, n, burst, consumers=2, tmp=tmp, nats_pid=nats_pid)
    figures: dict[str, float] = {}
    for mode in ("one_at_a_time", "burst"):
        delivery = max(0.0, two[mode] - one[mode])
        figures[f"delivery_ms_{mode}"] = round(delivery, 3)
        figures[f"publish_ms_{mode}"] = round(one[mode] - delivery, 3)
    return figures


async def _events(
    stack: Stack, n: int, burst: int, *, consumers: int, tmp: Path, nats_pid: int | None
) -> dict[str, float]:
    settings = ServiceSettings(
        service_name="probe",
        environment="test",
        nats_url=stack.nats_url or "",
        mongodb_url=stack.mongodb_url or "",
        mongodb_db_prefix=f"units_{random.randrange(16**8):08x}_",
        run_dir=tmp,
        **({"nats_nkey_seed_file": seed_path(stack.keys_dir, "ops")} if stack.own_nats else {}),
    )
    runtime = Runtime(settings)
    seen: dict[str, asyncio.Event] = {}
    counts: dict[str, int] = {}
    run = uuid.uuid4().hex[:8]

    async def handler(delivery: Delivery) -> None:
        event_id = delivery.event.id
        counts[event_id] = counts.get(event_id, 0) + 1
        if counts[event_id] == consumers:
            seen.setdefault(event_id, asyncio.Event()).set()

    for number in range(consumers):
        runtime.bus.consume(
            subject=subjects.MEDIATION_OPENED, durable=f"units-{run}-{number}", handler=handler, inbox=False
        )
    await runtime.start()

    async def publish(i: int) -> None:
        entry = store.outbox_entries([mediation_opened(str(uuid.uuid4()))])[0]
        done = seen.setdefault(entry["id"], asyncio.Event())
        await runtime.bus.publish_event(entry["event"], trace_headers=entry.get("headers"))
        await done.wait()

    async def a_burst(i: int) -> None:
        await asyncio.gather(*(publish(i * burst + j) for j in range(burst)))

    try:
        pids = {"nats": nats_pid} if nats_pid else {}
        one_at_a_time = (await _per_unit(publish, n, pids))["total"]
        bursts = (await _per_unit(a_burst, max(1, n // burst), pids, warm=2))["total"]
        return {"one_at_a_time": one_at_a_time, "burst": round(bursts / burst, 3)}
    finally:
        await runtime.stop()


def floor(units: dict[str, float], counts: dict[str, Any], mode: str) -> float:
    """A case's CPU floor at the given counts of requests, events, deliveries and commands."""
    per_command = sum(n * units[kind] for kind, n in counts["commands"].items())
    return round(
        counts["requests"] * units["http_stack_ms"]
        + counts["events"] * units[f"publish_ms_{mode}"]
        + counts["deliveries"] * units[f"delivery_ms_{mode}"]
        + per_command,
        1,
    )


def measured_counts(path: Path) -> tuple[dict[str, Any], float] | None:
    """The counts per case of the lowest rate of a bench.e2e_load run, and its CPU ms per case."""
    if not path.exists():
        return None
    run = min(json.loads(path.read_text())["runs"], key=lambda r: r["offered_per_s"])
    by_kind: dict[str, float] = {}
    for per_service in run["mongodb_commands_per_case"].values():
        for key, n in per_service.items():
            if key != "total":
                kind = KIND_OF.get(key.split(" ")[0], "find")
                by_kind[kind] = by_kind.get(kind, 0.0) + n
    counts = {
        "requests": 1,
        "events": run["jetstream_messages_per_case"],
        "deliveries": run["jetstream_deliveries_per_case"],
        "commands": by_kind,
        "offered_per_s": run["offered_per_s"],
    }
    return counts, run["cpu_ms_per_case_total"]


async def measure(args: argparse.Namespace, stack: Stack, tmp: Path) -> dict[str, Any]:
    """Every unit, then the floors."""
    setup_tracing("bench-units", trace_file=tmp / "traces" / "bench-units.jsonl", otlp_endpoint=None)
    embedded = stack.procs.get("nx-27017")
    store_pid = embedded.popen.pid if embedded and embedded.popen else None
    units = await commands(stack.mongodb_url or "", args.n, store_pid)
    unit_ms = {kind: units[f"{kind}_ms"] for kind in ("find", "insert", "update", "findAndModify")}
    units |= await requests(stack, args.n, unit_ms)
    units |= await events(stack, args.n, args.burst, tmp)
    shutdown_tracing()
    flat = unit_ms | units
    result: dict[str, Any] = {"benchmark": "unit_costs", "n": args.n, "units": units, "target_ms": TARGET_MS}
    result["lean_case"] = {
        "counts": LEAN,
        **{f"floor_ms_{m}": floor(flat, LEAN, m) for m in ("one_at_a_time", "burst")},
    }
    found = measured_counts(args.e2e)
    if found:
        counts, measured = found
        result["measured_case"] = {
            "counts": counts,
            "cpu_ms_per_case": measured,
            **{f"floor_ms_{m}": floor(flat, counts, m) for m in ("one_at_a_time", "burst")},
        }
    return result


def report(result: dict[str, Any]) -> None:
    """The table."""
    units = result["units"]
    print("| unit | CPU ms (all processes) |\n|---|---|")
    for key, value in units.items():
        print(f"| {key} | {value} |")
    print()
    print("| case | requests | events | deliveries | commands | floor ms: singly | in bursts | measured ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("measured_case", "lean_case"):
        case = result.get(name)
        if not case:
            continue
        c = case["counts"]
        print(
            f"| {name.replace('_', ' ')} | {c['requests']} | {c['events']} | {c['deliveries']} | "
            f"{round(sum(c['commands'].values()), 1)} | {case['floor_ms_one_at_a_time']} | "
            f"{case['floor_ms_burst']} | {case.get('cpu_ms_per_case', '-')} |"
        )
    print(f"\ntarget: {result['target_ms']} ms per case")


def main() -> int:
    """Start nats-server, the store and intake; measure; print; write JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="calls per unit")
    parser.add_argument("--burst", type=int, default=50, help="events published together")
    parser.add_argument(
        "--mongodb-url", help="measure this MongoDB (a scratch database), not the embedded one"
    )
    parser.add_argument("--nats-url", help="use this NATS server instead of a local nats-server")
    parser.add_argument("--e2e", type=Path, default=REPO_ROOT / ".bench" / "e2e_load.json")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "unit_costs.json")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="unit-costs-"))
    stack = Stack(
        run_dir=tmp,
        ports={"intake": free_port()},
        mongodb_url=args.mongodb_url,
        nats_url=args.nats_url,
        extra_env={
            "LOG_LEVEL": "WARNING",
            "MONGODB_DB_PREFIX": f"units_{os.getpid()}_",
            "RATE_LIMITS": json.dumps(
                {
                    k: {"requests": 10_000_000, "window_seconds": 60, "burst": 100_000}
                    for k in ("submit", "read")
                }
            ),
        },
    )
    try:
        stack.start(("intake",))
        result = asyncio.run(measure(args, stack, tmp))
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
