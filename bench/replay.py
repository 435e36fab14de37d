"""What-if replay of a year of routes: replay throughput (routes/s) and the process's memory.

    .venv/bin/python -m bench.replay --cases 300000 [--workers N] [--mongodb-url URL]

Without a URL it starts the embedded MongoDB server on a free port in a temporary folder (and deletes
it at the end). The routes are stored as the consumer stores them (request, decision, decided_at),
spread over a year: their requests come from the end-to-end load's generator (bench/case_mix.py,
the county's labelled cases with callers' own words, doors and moved points), decided once per
distinct request by the package in use. The candidate adds a lexicon phrase and moves a gazetteer
place to another town. The replay is `services.routing.replay.run`, the admin job's own work, in
process (no HTTP): both engines decide every route, in `--workers` worker processes (0: in a
thread, as with REPLAY_WORKERS=0), differences are stored as they are found.

Prints progress, then the figures as JSON on the last line: routes/s over the whole replay, the
differences, the peak resident memory of the process (seeding included), its resident memory before
and after the replay, and the largest peak of a worker process.
"""

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from bench.case_mix import CaseMix
from bench.figures import cpu_seconds, on_mongodb, scratch_database
from dispatch_common.clock import FixedClock
from dispatch_common.jobs import Job, Jobs
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.routing import replay
from services.routing.config import RoutingSettings
from services.routing.container import Routing, load_engine
from services.routing.domain.models import RouteRequest

DEFAULT_DEADLINE_POLICY_FILE = DATA_DIR / "policy" / "deadlines.json"
START = datetime(2025, 1, 1, tzinfo=UTC)
DISTINCT = 5000  # distinct requests decided for seeding; the year's routes reuse them


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int | str = "self") -> list[int]:
    """The processes under this one (here: the embedded server, and a replay's workers while they run)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in map(int, task.read_text().split()):
            found += [child, *descendants(child)]
    return found


def cpu_now(servers: list[int]) -> dict[str, float]:
    """CPU seconds used so far by this process, its waited-for children (the workers) and the server."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "service": me.ru_utime + me.ru_stime,
        "workers": kids.ru_utime + kids.ru_stime,
        "server": sum(cpu_seconds(pid) or 0.0 for pid in servers),
    }


def candidate_files(county_dir: Path) -> dict[str, str]:
    gazetteer = json.loads((county_dir / "gazetteer.json").read_text(encoding="utf-8"))
    place = next(e for e in gazetteer if e.get("village"))
    other = next(e for e in gazetteer if e.get("village") and e["town"] != place["town"])
    place.update({k: other.get(k) for k in ("grid", "village", "town", "lon", "lat")})
    lexicon = json.loads((county_dir / "lexicon.json").read_text(encoding="utf-8"))
    code = next(iter(lexicon["phrases"]))
    lexicon["phrases"][code]["清运"] = 3.0
    return {
        "gazetteer.json": json.dumps(gazetteer, ensure_ascii=False),
        "lexicon.json": json.dumps(lexicon, ensure_ascii=False),
    }


async def seed(routing: Any, count: int, batch: int) -> None:
    engine = routing.engine
    fields = ("channel", "text", "address", "lon", "lat", "people_count")
    pool = []
    for _, body in CaseMix().bodies(min(DISTINCT, count)):
        request = RouteRequest(**{k: body[k] for k in fields if k in body})
        pool.append((request.model_dump(mode="json"), engine.decide(request).model_dump(mode="json")))
    step = timedelta(days=365) / count
    docs: list[dict[str, Any]] = []
    for i in range(count):
        request, decision = pool[i % len(pool)]
        at = START + step * i
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "case_no": f"990102-2025-{i:07d}",
                "request": request,
                "decision": decision,
                "decided_at": at,
            }
        )
        if len(docs) >= batch:
            await routing.routes.insert_many(docs, ordered=False)
            docs = []
    if docs:
        await routing.routes.insert_many(docs, ordered=False)
    await routing.routes.create_index("decided_at")


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    async with scratch_database(
        url, app_name="bench-replay", prefix="bench_replay", drop=bool(args.mongodb_url)
    ) as db:
        engine = load_engine(args.county_dir, DEFAULT_DEADLINE_POLICY_FILE)

        async def none(package: Any = None) -> list[Any]:
            return []

        routing = cast(
            Routing,
            SimpleNamespace(
                routes=db["routes"],
                engine=engine,
                county_dir=args.county_dir,
                deadline_policy_file=DEFAULT_DEADLINE_POLICY_FILE,
                examples=none,
                clock=FixedClock(START + timedelta(days=366)),
                place_examples=none,
            ),
        )
        t0 = time.perf_counter()
        await seed(routing, args.cases, args.batch)
        seeded = time.perf_counter() - t0
        print(f"seeded {args.cases:,} routes in {seeded:.0f} s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            replay.write_candidate(candidate_files(args.county_dir), args.county_dir, Path(tmp))
            candidate = load_engine(Path(tmp), DEFAULT_DEADLINE_POLICY_FILE)
        jobs = Jobs(db, "replays", runtime=cast(Any, None), clock=FixedClock(START))
        doc = {
            "_id": uuid.uuid4().hex,
            "status": "running",
            "progress": {},
            "started_at": START,
            "updated_at": START,
        }
        await jobs.docs.insert_one(doc)
        job = Job(jobs, doc)
        before = rss_mb()
        t1 = time.perf_counter()
        read = 0
        async for _ in replay.read_period(routing.routes, START, START + timedelta(days=366)):
            read += 1
        reading = time.perf_counter() - t1
        print(f"read {read:,} routes {reading:.1f} s", flush=True)

        async def report() -> None:
            while True:
                await asyncio.sleep(10)
                p = job.doc["progress"]
                rate = p.get("done", 0) / (time.perf_counter() - t1)
                of = p.get("total") or f"~{p.get('estimated_total')}"
                print(f"replayed {p.get('done', 0):,} of {of} routes ({rate:,.0f}/s)", flush=True)

        servers = descendants()
        cpu_before = cpu_now(servers)
        t1 = time.perf_counter()
        progress = asyncio.create_task(report())
        result = await replay.run(
            job,
            routing=routing,
            candidate=candidate,
            start=START,
            end=START + timedelta(days=366),
            workers=args.workers,
        )
        took = time.perf_counter() - t1
        progress.cancel()
        cpu = {k: v - cpu_before[k] for k, v in cpu_now(servers).items()}
        return {
            "routes": result["cases"],
            "changed": result["changed"],
            "seconds": round(took, 1),
            "routes_per_second": round(result["cases"] / took, 1),
            "year_of_300k_minutes": round(300_000 / (result["cases"] / took) / 60, 1),
            "read_seconds": round(reading, 1),
            # CPU milliseconds a route costs each process (what a quiet machine's wall time follows)
            "cpu_ms_per_route": {k: round(v * 1000 / max(1, result["cases"]), 2) for k, v in cpu.items()},
            "rss_before_replay_mb": round(before, 1),
            "rss_after_replay_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "workers": args.workers,
            # the largest of the children waited for: the workers (the embedded server still runs)
            "peak_worker_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
            if args.workers
            else None,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cases", type=int, default=300_000, help="routes in the year (a county: 0.3-3 million)"
    )
    parser.add_argument("--batch", type=int, default=5_000, help="documents per insert_many while seeding")
    parser.add_argument("--county-dir", type=Path, default=DEFAULT_COUNTY_DIR)
    parser.add_argument(
        "--workers",
        type=int,
        default=RoutingSettings().replay_workers,
        help="worker processes deciding (0: a thread of the process); default as REPLAY_WORKERS",
    )
    parser.add_argument(
        "--mongodb-url", default=None, help="use this server (default: start the embedded one)"
    )
    args = parser.parse_args()
    result = on_mongodb(lambda url: run(args, url), args.mongodb_url, prefix="bench-replay-")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
