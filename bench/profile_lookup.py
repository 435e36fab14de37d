"""The petitioner profile with a million cases stored, opened through intake's HTTP API.

    .venv/bin/python -m bench.profile_lookup --cases 1000000 [--checkpoints 250000,500000]

Starts intake alone on 127.0.0.1 with its own nats-server and embedded MongoDB server (devtools.stack):
intake builds its indexes at start with its own ensure-indexes code, exactly as in production. The
cases are then written straight into intake's database with `insert_many`, in intake's stored shape
(bench/profile_seed.py: the service's own builders), a batch synthesized while the previous one is
written. At each checkpoint (and at the end) the profiles of petitioners with exactly 1, 10 and 100
cases are opened with `GET /v1/cases/{case_id}/profile` as a dispatcher, one after the other, and the
figures printed: p50/p95/p99 per size, the seeding rate, and the storage (dbStats, and the server's
data folder on disk). The last line is the JSON of the whole run. Figures, never pass/fail.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.figures import latency_figures
from bench.profile_reads import read_timings
from bench.profile_seed import PROBED, Seed, now
from devtools.keys import issue_token
from devtools.stack import Stack, free_port
from dispatch_common.crypto import load_pii_keys


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def disk_mb(folder: Path) -> float:
    out = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=False).stdout
    return round(int(out.split()[0]) / 1024, 1) if out else 0.0


async def storage(db: Any, data_dir: Path) -> dict[str, Any]:
    """What the server says the data take (when it answers dbStats), and the data folder on disk."""
    figures: dict[str, Any] = {"data_folder_mb": disk_mb(data_dir)}
    try:
        stats = await db.command("dbStats")
        figures |= {k: stats.get(k) for k in ("objects", "dataSize", "storageSize", "indexSize")}
    except Exception as exc:  # the embedded server's gaps: say so rather than guess
        figures["db_stats"] = f"not answered: {exc}"
    return figures


async def seed(db: Any, synth: Seed, first: int, last: int, batch: int) -> None:
    """Cases [first, last), a batch synthesized in a thread while the previous one is written."""

    def make(lo: int) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for i in range(lo, min(last, lo + batch)):
            for name, docs in synth.documents(i).items():
                out.setdefault(name, []).extend(docs)
        return out

    pending = asyncio.create_task(asyncio.to_thread(make, first))
    for lo in range(first, last, batch):
        docs = await pending
        if lo + batch < last:
            pending = asyncio.create_task(asyncio.to_thread(make, lo + batch))
        await asyncio.gather(*(db[name].insert_many(d, ordered=False) for name, d in docs.items()))


def import_facts(url: str, keys_dir: Path, synth: Seed) -> int:
    """A court batch with a fact for every tenth of the first 20,000 petitioners (2,000 rows, within
    the body a request may carry), through intake's own import (POST /v1/pool/batches), so the pool
    is keyed as the service keys it."""
    rows = [
        {"ref": f"(2025)民初{p}号", "date": "2025-06-01"}
        | ({"id_number": person.petitioner.id_number} if person.petitioner.id_number else {})
        | ({"phone": person.petitioner.phone} if not person.petitioner.id_number else {})
        for p, person in enumerate(synth.people[:20_000:10])
    ]
    body = {
        "source": "county-court",
        "kind": "court_judgment",
        "source_date": "2026-01-01",
        "use_note": "bench",
        "rows": rows,
    }
    token = issue_token(keys_dir, role="supervisor")
    r = httpx.post(
        f"{url}/v1/pool/batches", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=600
    )
    r.raise_for_status()
    return len(rows)


def first_cases(synth: Seed) -> dict[int, int]:
    """The first case of the first probed petitioner of each size."""
    return {n: first_case_of(synth)[people[0]] for n, people in synth.probes.items()}


def first_case_of(synth: Seed) -> dict[int, int]:
    """Each probed petitioner's first case (theirs come first, in order)."""
    first: dict[int, int] = {}
    for i, p in enumerate(synth.owner[: sum(n * k for n, k in PROBED.items())]):
        first.setdefault(p, i)
    return first


def open_profiles(url: str, token: str, synth: Seed, lookups: dict[int, int]) -> dict[str, Any]:
    """Open the probed petitioners' profiles over HTTP; latency figures per number of cases."""
    out: dict[str, Any] = {}
    first_case = first_case_of(synth)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for size, people in synth.probes.items():
            chosen = [people[k % len(people)] for k in range(lookups[size])]
            for p in chosen[:5]:  # warm the connection and the server's caches
                client.get(f"/v1/cases/c{first_case[p]:07d}/profile", params={"reason": "bench"})
            latencies, listed, entries = [], [], []
            for p in chosen:
                t = time.perf_counter()
                r = client.get(f"/v1/cases/c{first_case[p]:07d}/profile", params={"reason": "bench"})
                latencies.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                body = r.json()
                listed.append(len(body["cases"]))
                entries.append(len(body["sections"]["risk_entries"]))
            out[f"{size}_cases"] = latency_figures(latencies) | {
                "profiles": len(latencies),
                "cases_listed": [min(listed), max(listed)],
                "risk_entries_max": max(entries),
            }
    return out


async def run(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    keys = load_pii_keys(environment="test", keys_dir=stack.keys_dir)
    external = stack.procs.get("nx-27017") is None
    started = time.perf_counter()
    synth = Seed(args.cases, keys, args.seed, now(), args.days)
    people = len(synth.people)
    print(f"synthesized {people:,} petitioners in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    facts = import_facts(stack.url("intake"), stack.keys_dir, synth)
    token = issue_token(stack.keys_dir, role="dispatcher")
    # no socket timeout: a batch may take the busy embedded server more than the services' 60 s
    client = AsyncMongoClient(stack.mongodb_url or "", appname="bench-profile", socketTimeoutMS=None)
    db = client[stack.service_env("intake").get("MONGODB_DB_PREFIX", "dispatch_") + "intake"]
    stops = sorted({n for n in args.checkpoints if n < args.cases} | {args.cases})
    loaded, seconds, points = 0, 0.0, []
    lookups = {1: args.lookups, 10: args.lookups, 100: max(20, args.lookups // 4)}
    try:
        for stop in stops:
            t = time.perf_counter()
            await seed(db, synth, loaded, stop, args.batch)
            seconds += time.perf_counter() - t
            loaded = stop
            load = load_average()
            profiles = await asyncio.to_thread(open_profiles, stack.url("intake"), token, synth, lookups)
            point = {
                "cases": loaded,
                "seeding_cases_per_s": round(loaded / seconds),
                "seeding_seconds": round(seconds, 1),
                "load_average": load,
                "profiles": profiles,
                # each read alone, for a 1-, 10- and 100-case petitioner: a scan grows with `cases`
                "reads_ms": {
                    f"{n}_cases": await read_timings(db, f"c{first:07d}")
                    for n, first in first_cases(synth).items()
                },
                "storage": await storage(db, stack.run_dir / "mongo"),
            }
            points.append(point)
            print(json.dumps(point), file=sys.stderr, flush=True)
            if seconds > args.max_seed_minutes * 60 and stop != stops[-1]:
                print(f"seeding past {args.max_seed_minutes} min: stopping at {loaded:,}", file=sys.stderr)
                break
    finally:
        if external:  # a server the bench did not start: its database goes
            await client.drop_database(db.name)
        await client.close()
    return {
        "benchmark": "profile_lookup",
        "petitioners": people,
        "pool_facts": facts,
        "server": "external" if external else "embedded nx-27017",
        **points[-1],
        "checkpoints": points[:-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument(
        "--lookups", type=int, default=100, help="profiles opened per size (100 cases: a quarter)"
    )
    parser.add_argument(
        "--checkpoints",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[250_000, 500_000],
        help="also measure when this many cases are stored (comma-separated)",
    )
    parser.add_argument("--batch", type=int, default=2_000, help="cases per insert_many")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=20260601)
    parser.add_argument(
        "--mongodb-url", default=None, help="seed and serve from this server (default: the embedded one)"
    )
    parser.add_argument("--max-seed-minutes", type=float, default=40, help="stop at a checkpoint past this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as base:
        stack = Stack(
            run_dir=Path(base),
            ports={"intake": free_port()},
            mongodb_url=args.mongodb_url,
            extra_env={"ENVIRONMENT": "test", "RATE_LIMIT_ENABLED": "false"}
            | ({"MONGODB_DB_PREFIX": f"bench_profile_{os.getpid()}_"} if args.mongodb_url else {}),
        )
        try:
            stack.start(("intake",))
            result = asyncio.run(run(args, stack))
        finally:
            stack.stop()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
