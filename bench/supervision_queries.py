"""Supervision's reads with a million case files: load the worklist and KPI rollups, time the queries.

    .venv/bin/python -m bench.supervision_queries --cases 1000000 [--mongodb-url URL]

Without a URL it starts the embedded MongoDB server on a free port in a temporary folder and stops
it (and deletes the folder) at the end; with one it uses a fresh database there and drops it.

The county is realistic in shape: the package's 109 units (county departments, the six towns' five
offices, two per village) and seven more offices per town, ~150 in all; cases in the six towns
(the three urban subdistricts busier), first-level categories of the taxonomy, tiers
general/key/major 90/8/2%. A case is led by a county department taking its category (40%), an
office of its town (45%) or its village (15%); 30% have an assisting unit as well. 80% are closed,
assigned at any time in the last two years; the rest are open (assigned, signed, in progress,
extended, in mediation, reopened, in review), assigned recently, some overdue. Each case file is
only built in memory: what is stored is what the service keeps of it, the worklist lines
(`worklist_entry`, into a `worklist` collection with the service's indexes) and the KPI rollup rows
(`kpis.counts` summed per `kpis.row_key`, one document per row, as `CaseFiles.roll_up` leaves them).

The queries are the API's own handlers called in process (no HTTP, no JSON encoding):
`GET /v1/worklist` for units drawn at random, as the open list by deadline, overdue only, one
status, one category and the third page; `GET /v1/kpis` over the last twelve months grouped by
unit, town, category, tier and month, and county-wide over all time. Targets: worklist p99 under
100 ms, a year's KPIs under 2 s. Prints progress, then the figures as JSON on the last line.
"""

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from bench.case_file_synth import TZ, County, Synth, batches
from bench.figures import latency_figures, on_mongodb, scratch_database
from dispatch_common.auth import Principal, Role
from dispatch_common.clock import FixedClock
from dispatch_common.confidential import Confidentiality
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from services.supervision.adapters.repository import CaseFiles
from services.supervision.container import Supervision
from services.supervision.domain import kpis
from services.supervision.entrypoints.kpis import kpis_view
from services.supervision.entrypoints.worklist import worklist


def _last_year(now: datetime) -> tuple[str, str]:
    """The last twelve whole months before now's month, as rollup periods."""
    local = now.astimezone(TZ)
    months = local.year * 12 + local.month - 1
    first, last = months - 12, months - 1
    return f"{first // 12}-{first % 12 + 1:02d}", f"{last // 12}-{last % 12 + 1:02d}"


async def _timed(call: Awaitable[Any]) -> tuple[float, Any]:
    """Milliseconds an awaitable took, and its result."""
    t = time.perf_counter()
    out = await call
    return (time.perf_counter() - t) * 1000, out


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    """Load the projections into a fresh database at url, time the queries, and return the figures."""
    now = datetime(2026, 6, 1, tzinfo=UTC)
    county = County(args.county_dir)
    synth = Synth(county, args.seed, now, args.days)
    database = scratch_database(
        url, app_name="bench-supervision-queries", prefix="bench_sv", drop=bool(args.mongodb_url)
    )
    async with database as db:
        files = CaseFiles(db)
        clock = FixedClock(now)
        confidentiality = Confidentiality.build(
            args.county_dir, db, clock
        )  # another unit's list filters by it
        sv = cast(Supervision, SimpleNamespace(files=files, clock=clock, confidentiality=confidentiality))
        user = Principal(subject="bench", role=Role.SUPERVISOR)
        await files.ensure_indexes()
        start = time.perf_counter()
        rows: dict[str, dict[str, Any]] = {}
        entries = 0
        next_report = start + 15
        open_lines: Counter[str] = Counter()
        for batch in batches(synth, args.cases, args.batch, rows, open_lines):
            await files.worklist.insert_many(batch, ordered=False)
            entries += len(batch)
            if time.perf_counter() >= next_report:
                rate = entries / (time.perf_counter() - start)
                print(f"worklist: {entries:,} lines ({rate:,.0f}/s)", file=sys.stderr, flush=True)
                next_report += 15
        worklist_seconds = time.perf_counter() - start
        print(f"worklist: {entries:,} lines in {worklist_seconds:.1f}s", file=sys.stderr, flush=True)
        docs = [{"_id": rid, **row} for rid, row in rows.items()]
        for i in range(0, len(docs), args.batch):
            await files.rollups.insert_many(docs[i : i + args.batch], ordered=False)
        load_seconds = time.perf_counter() - start
        print(f"rollups: {len(docs):,} rows; loaded in {load_seconds:.1f}s", file=sys.stderr, flush=True)

        rng = random.Random(args.seed + 1)
        codes = [u["code"] for u in county.units]
        categories = [code for code, _ in county.categories]

        def query(kind: str) -> dict[str, Any]:
            unit = rng.choice(codes)
            if kind == "overdue":
                return {"unit": unit, "overdue": True}
            if kind == "status":
                return {"unit": unit, "status_": rng.choices(synth.open_states, synth.open_weights)[0]}
            if kind == "category":
                return {"unit": unit, "category": rng.choice(categories)}
            return {"unit": unit}

        async def asked(kind: str) -> dict[str, Any]:
            """The query of a kind; `page`: the page after the first 100 lines, by its cursor."""
            q = query(kind)
            if kind == "page":
                first = await worklist(user, sv, unit=q["unit"], limit=100)
                q["cursor"] = first.next_cursor
            return q

        kinds = ["open", "overdue", "status", "category", "page"]
        for j in range(args.warmup):
            await worklist(user, sv, **(await asked(kinds[j % len(kinds)])))
        latencies: dict[str, list[float]] = {k: [] for k in kinds}
        returned = 0
        for j in range(args.queries):
            kind = kinds[j % len(kinds)]
            ms, page = await _timed(worklist(user, sv, **(await asked(kind))))
            latencies[kind].append(ms)
            returned += len(page.items)
        every = [ms for values in latencies.values() for ms in values]
        busiest = open_lines.most_common(1)[0][0]
        busiest_ms = [(await _timed(worklist(user, sv, unit=busiest)))[0] for _ in range(10)]
        print(f"worklist: {len(every)} queries timed", file=sys.stderr, flush=True)

        first, last = _last_year(now)
        await kpis_view(user, sv, group_by="unit", from_=first, to=last)  # warm-up
        kpi_ms: dict[str, float] = {}
        for group in kpis.GROUPS:
            runs = [
                (await _timed(kpis_view(user, sv, group_by=group, from_=first, to=last)))[0]
                for _ in range(args.kpi_runs)
            ]
            kpi_ms[group] = round(statistics.median(runs), 1)
        all_runs = [await _timed(kpis_view(user, sv, group_by="tier")) for _ in range(args.kpi_runs)]
        all_time = all_runs[0][1]
        year_rows = sum(1 for r in rows.values() if first <= r["period"] <= last)
        return {
            "benchmark": "supervision_queries",
            "cases": args.cases,
            "worklist_lines": entries,
            "open_lines": sum(open_lines.values()),
            "kpi_rows": len(docs),
            "load_seconds": round(load_seconds, 1),
            "load_per_second": round((entries + len(docs)) / load_seconds) if load_seconds else None,
            "worklist_queries": len(every),
            **{f"worklist_{k}": v for k, v in latency_figures(every).items()},
            "worklist_by_query": {k: latency_figures(v) for k, v in latencies.items()},
            "worklist_items_returned": returned,
            "worklist_busiest_unit": busiest,
            "worklist_busiest_unit_open_lines": open_lines[busiest],
            "worklist_busiest_unit_median_ms": round(statistics.median(busiest_ms), 2),
            "worklist_p99_target_ms": 100,
            "kpi_year": f"{first}..{last}",
            "kpi_year_rows": year_rows,
            "kpi_year_ms": kpi_ms,
            "kpi_year_max_ms": max(kpi_ms.values()),
            "kpi_year_target_ms": 2000,
            "kpi_all_time_ms": round(statistics.median(ms for ms, _ in all_runs), 1),
            "kpi_all_time_assigned": sum(r["assigned"] for r in all_time["rows"]),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500, help="worklist queries timed")
    parser.add_argument("--warmup", type=int, default=20, help="worklist queries before timing")
    parser.add_argument("--kpi-runs", type=int, default=3, help="runs of each KPI query (median)")
    parser.add_argument("--batch", type=int, default=10_000, help="documents per insert_many")
    parser.add_argument("--days", type=int, default=730, help="how far back assignments go")
    parser.add_argument("--seed", type=int, default=20260601)
    parser.add_argument("--county-dir", type=Path, default=DEFAULT_COUNTY_DIR)
    parser.add_argument(
        "--mongodb-url", default=None, help="use this server (default: start the embedded one)"
    )
    args = parser.parse_args()
    result = on_mongodb(lambda url: run(args, url), args.mongodb_url, prefix="bench-sv-")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
