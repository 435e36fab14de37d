"""The petitioner profile against a million stored cases: seed, then time opening profiles.

    .venv/bin/python -m bench.profile_lookup --cases 1000000 [--mongodb-url URL]

Seeds the collections a profile reads with N cases, as duplicate_lookup seeds its history (the same
synthetic petitioners, places, texts and times, bench/duplicate_lookup.py `Synth`): `case_history`
(the petitioner-hash index a profile starts from), `cases` (a registration's profile fields and its
assignment), `profile_outcomes` (routing's category and, for most cases, a reply and a rating; a
proxy agent for every tenth case and a risk-ledger entry, opened and closed, for every twentieth) and
`pool_facts` with one active batch (one fact for every tenth petitioner). Then opens the profiles of
petitioners drawn from the history, one after the other, through the same reads the HTTP operation
makes (ProfileReader, DataPool, ProfileSections, domain/profile.py), and prints the figures as JSON
on the last line.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.duplicate_lookup import Synth
from bench.figures import latency_figures, on_mongodb, scratch_database
from services.intake.adapters.history import CaseHistory
from services.intake.adapters.pool import DataPool
from services.intake.adapters.profile import ProfileReader
from services.intake.adapters.profile_sections import ProfileSections
from services.intake.domain import profile
from services.intake.domain.duplicates import DuplicatePolicy

CHANNELS = ["hotline_12345", "petition_visit", "petition_online", "petition_letter", "grid_report"]
RATINGS = ["satisfied", "basically_satisfied", "dissatisfied"]


def case_document(h: dict, i: int) -> dict:
    """The case a history document stands for, with the fields a profile reads."""
    unit = f"U{i % 40:02d}"
    return {
        "_id": h["_id"],
        "case_no": h["case_no"],
        "channel": CHANNELS[i % len(CHANNELS)],
        "received_at": h["received_at"],
        "status": "closed" if i % 3 else "assigned",
        "screening": {"outcome": h["outcome"] or "accepted"},
        "people_count": 6 if i % 50 == 0 else 1,
        "links": {"repeat_of": {"case_no": "x"} if h["is_repeat"] else None, "incident_of": None},
        "assignment": {"lead_unit": {"code": unit, "name": f"单位{unit}"}, "place": {"town": "990102001"}},
        "confidential": False,
        "petitioner_hash": h["petitioner_hash"],
    }


def slim(h: dict) -> dict:
    """A history document without the text and place fields only duplicate lookup reads (a profile
    reads the petitioner hash and the time): the seeding of a million is then a matter of minutes."""
    return {
        k: v for k, v in h.items() if k not in ("text", "tokens", "bigrams") and not k.startswith("place_")
    }


def outcome_documents(h: dict, i: int) -> list[dict]:
    """Routing's category for every case; a reply and a rating for two in three."""
    at = h["received_at"] + timedelta(days=1)
    docs = [{"_id": f"r{i}", "case_id": h["_id"], "kind": "routed", "at": at, "category": f"{10 + i % 9}01"}]
    if i % 3:
        docs += [
            {"_id": f"p{i}", "case_id": h["_id"], "kind": "replied", "at": at, "result": "explained"},
            {"_id": f"f{i}", "case_id": h["_id"], "kind": "rated", "at": at, "rating": RATINGS[i % 3]},
        ]
    if i % 10 == 0:
        agent = {"agent_id": f"A{i % 97}", "agent_name": "代办员", "tier": "village", "how": "intake"}
        docs.append(
            {"_id": f"a{i}", "case_id": h["_id"], "case_no": f"N{i}", "kind": "represented", "at": at} | agent
        )
    if i % 20 == 0:
        entry = {"entry_id": f"E{i}", "at": at}
        docs += [
            {"_id": f"lo{i}", "kind": "ledger_opened", "status": "opened", "entry_no": f"TZ{i}"}
            | entry
            | {"risk_kind": "dispute", "risk_level": "high", "town": "990102001", "owner_unit": None},
            {"_id": f"lo{i}|{h['_id']}", "kind": "ledger_link", "case_id": h["_id"]} | entry,
            {"_id": f"lc{i}", "kind": "ledger_closed", "status": "closed", "closed_on_time": True} | entry,
        ]
    return docs


async def seed_facts(db, synth: Synth) -> None:  # type: ignore[no-untyped-def]
    """One active court batch with a fact for every tenth petitioner."""
    await db["pool_batches"].insert_one(
        {
            "_id": "pb-bench",
            "source": "court",
            "version": 1,
            "kind": "court_judgment",
            "status": "active",
            "source_date": "2026-01-01",
            "use_note": "bench",
            "revision": 2,
            "imported_at": datetime.now(UTC),
            "imported_ts": 0,
        }
    )
    facts = [
        {
            "_id": f"pb-bench:{n}:0",
            "fact": f"pb-bench:{n}",
            "batch_id": "pb-bench",
            "key": key,
            "kind": "court_judgment",
            "ref": f"(2025)民初{n}号",
            "date": "2025-06-01",
        }
        for n, key in enumerate(synth.hashes[::10])
    ]
    await db["pool_facts"].insert_many(facts, ordered=False)


async def load(db, synth: Synth, first: int, last: int, batch: int) -> None:  # type: ignore[no-untyped-def]
    """Load cases [first, last) in batches of `batch`."""
    for lo in range(first, last, batch):
        rows = [(slim(synth.document(i)), i) for i in range(lo, min(last, lo + batch))]
        await db["case_history"].insert_many([h for h, _ in rows], ordered=False)
        await db["cases"].insert_many([case_document(h, i) for h, i in rows], ordered=False)
        outcomes = [o for h, i in rows for o in outcome_documents(h, i)]
        await db["profile_outcomes"].insert_many(outcomes, ordered=False)


async def open_profile(reader: ProfileReader, pool: DataPool, keys: tuple[str, ...]) -> dict:
    """What GET /v1/cases/{case_id}/profile reads and assembles, without HTTP."""
    case_ids = await reader.case_ids(keys)
    pairs = await reader.cases_with_outcomes(case_ids)
    facts = await pool.facts_of(keys)
    lines = [profile.case_line(c, later, group_size=5) for c, later in pairs]
    sections = ProfileSections(reader.outcomes)
    return {
        "cases": lines,
        "patterns": profile.patterns(lines),
        "facts": [profile.fact_line(f, b, None) for f, b in facts],
        "agents": await sections.agents(keys, pairs),
        "risk_entries": await sections.risk_entries(keys, pairs),
    }


async def measure(reader: ProfileReader, pool: DataPool, synth: Synth, lookups: int, stored: int) -> dict:
    """Open `lookups` profiles of petitioners drawn from the history; the figures."""
    probes = [(synth.rng.choice(synth.hashes),) for _ in range(lookups)]
    for keys in probes[:20]:  # warm the connection pool and the server's caches
        await open_profile(reader, pool, keys)
    latencies, sizes, facts = [], [], 0
    for keys in probes:
        t = time.perf_counter()
        body = await open_profile(reader, pool, keys)
        latencies.append((time.perf_counter() - t) * 1000)
        sizes.append(len(body["cases"]))
        facts += bool(body["facts"])
    return {
        "cases": stored,
        "profiles": len(latencies),
        **latency_figures(latencies),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "cases_per_profile_mean": round(statistics.fmean(sizes), 1),
        "cases_per_profile_max": max(sizes),
        "profiles_with_facts": facts,
    }


async def run(args: argparse.Namespace, url: str) -> dict:
    synth = Synth(args.cases, args.seed, DuplicatePolicy.load(), datetime(2026, 6, 1, tzinfo=UTC), args.days)
    database = scratch_database(
        url, app_name="bench-profile", prefix="bench_profile", drop=bool(args.mongodb_url)
    )
    async with database as db:
        history = CaseHistory(db)
        reader, pool = ProfileReader(db, history), DataPool(db)
        # the one history index a profile reads (duplicate lookup's place indexes only slow the seeding)
        await history.col.create_index("petitioner_hash")
        await reader.ensure_indexes()
        await ProfileSections(reader.outcomes).ensure_indexes()
        await pool.ensure_indexes()
        await seed_facts(db, synth)
        start = time.perf_counter()
        stops = sorted({n for n in args.checkpoints if n < args.cases} | {args.cases})
        loaded, points = 0, []
        for stop in stops:
            await load(db, synth, loaded, stop, args.batch)
            loaded = stop
            rate = loaded / (time.perf_counter() - start)
            point = await measure(reader, pool, synth, args.lookups, loaded)
            points.append(point)
            print(f"loaded {loaded:,} ({rate:,.0f}/s): {json.dumps(point)}", file=sys.stderr, flush=True)
        return {
            "benchmark": "profile_lookup",
            "load_seconds": round(time.perf_counter() - start, 1),
            **points[-1],
            "checkpoints": points[:-1],
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument(
        "--checkpoints",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[100_000, 250_000, 500_000],
        help="also measure when this many cases are stored (comma-separated)",
    )
    parser.add_argument("--batch", type=int, default=10_000, help="cases per insert_many")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=20260601)
    parser.add_argument(
        "--mongodb-url", default=None, help="use this server (default: start the embedded one)"
    )
    args = parser.parse_args()
    result = on_mongodb(lambda url: run(args, url), args.mongodb_url, prefix="bench-profile-")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
