"""What-if replay of the screening rules: screened cases/s and the process's memory.

    .venv/bin/python -m bench.screening_replay --cases 10000 [--mongodb-url URL]

Without a URL it starts the embedded MongoDB server on a free port in a temporary folder (and deletes
it at the end). The cases are stored as intake stores them (text and address masked with their phone
and ID numbers sealed, the point, the channel, the screening), spread over a year: their bodies come
from the end-to-end load's generator (bench/case_mix.py: the county's labelled cases with callers' own
words; a third leave a phone number to call back). The candidate raises the minimum length and adds
a rule in front. The replay is `services.intake.screening_replay.run`, the admin job's own work, in
process (no HTTP): every case's sealed numbers are opened and both rules screen it; differences are
stored as they are found.

Prints progress, then the figures as JSON on the last line: cases/s over the whole replay, the
differences, the peak resident memory and the resident memory before and after the replay.
"""

import argparse
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
from bench.figures import on_mongodb, scratch_database
from bench.job_support import progress_shown, scratch_job
from bench.replay import rss_mb
from dispatch_common.crypto import load_pii_keys
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.intake import screening_replay
from services.intake.container import Intake, ScreeningHolder
from services.intake.domain.boundary import CountyBoundary
from services.intake.domain.models import normalize_text
from services.intake.domain.protection import protect_free_text
from services.intake.domain.screening import RULES_FILE, ScreeningInput

START = datetime(2025, 1, 1, tzinfo=UTC)
RULES = DATA_DIR / "intake" / "screening_rules.json"
KB = DATA_DIR / "intake" / "knowledge_base.json"


def candidate_rules() -> dict[str, str]:
    rules = json.loads(RULES.read_text(encoding="utf-8"))
    rules["min_text_chars"] = 12
    rule = {
        "id": "N-BENCH",
        "outcome": "not_accepted",
        "reason": "基准测试。",
        "phrases": ["噪音", "路灯", "垃圾"],
    }
    rules["rules"].insert(0, rule)
    return {RULES_FILE: json.dumps(rules, ensure_ascii=False)}


def stored_case(intake: Any, body: dict[str, Any], i: int) -> dict[str, Any]:
    """A case as registration stores what screening reads (handlers.register_case)."""
    case_id = str(uuid.uuid4())
    said = body["text"] + (f"，回电138{i:08d}" if i % 3 == 0 else "")  # a third leave a number
    text = normalize_text(said)
    address = normalize_text(body["address"]) if body.get("address") else None
    lon, lat = body.get("lon"), body.get("lat")
    outside = None if lon is None or lat is None else not intake.boundary.contains(lon, lat)
    result = intake.screening.current.screen(
        ScreeningInput(channel=body["channel"], text=text, address=address, outside_county=outside)
    )
    masked, sealed = protect_free_text(intake.keys, case_id, {"text": text, "address": address})
    return {
        "_id": case_id,
        "case_no": f"990102-2025-{i:07d}",
        "channel": body["channel"],
        **masked,
        "free_text_pii": sealed,
        "location": {"lon": lon, "lat": lat} if lon is not None else None,
        "people_count": body.get("people_count"),
        "petitioner": {"anonymous": True},
        "screening": result.model_dump(),
        "confidential": result.confidential,
    }


async def seed(intake: Any, count: int, batch: int) -> int:
    """`count` cases over a year; how many had numbers sealed."""
    step = timedelta(days=365) / count
    docs: list[dict[str, Any]] = []
    sealed = 0
    for i, (_, body) in enumerate(CaseMix().bodies(count)):
        doc = stored_case(intake, body, i) | {"received_at": START + step * i}
        sealed += bool(doc["free_text_pii"])
        docs.append(doc)
        if len(docs) >= batch:
            await intake.cases.cases.insert_many(docs, ordered=False)
            docs = []
    if docs:
        await intake.cases.cases.insert_many(docs, ordered=False)
    await intake.cases.cases.create_index("received_at")
    return sealed


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    async with scratch_database(
        url, app_name="bench-screening-replay", prefix="bench_sreplay", drop=bool(args.mongodb_url)
    ) as db:
        with tempfile.TemporaryDirectory() as keys_dir:
            keys = load_pii_keys(environment="development", keys_dir=Path(keys_dir))
        intake = cast(
            Intake,
            SimpleNamespace(
                cases=SimpleNamespace(cases=db["cases"]),
                keys=keys,
                boundary=CountyBoundary(args.county_dir),
                screening=ScreeningHolder(RULES, KB),
            ),
        )
        t0 = time.perf_counter()
        sealed = await seed(intake, args.cases, args.batch)
        took = time.perf_counter() - t0
        print(f"seeded {args.cases:,} cases ({sealed:,} with sealed numbers) in {took:.0f} s", flush=True)
        candidate = screening_replay.load_candidate(candidate_rules(), intake)
        job = await scratch_job(db, "screening_replays", START)
        before = rss_mb()
        t1 = time.perf_counter()
        async with progress_shown(job, "cases"):
            result = await screening_replay.run(
                job,
                intake=intake,
                baseline=intake.screening.current,
                candidate=candidate,
                start=START,
                end=START + timedelta(days=366),
            )
        took = time.perf_counter() - t1
        return {
            "cases": result["cases"],
            "changed": result["changed"],
            "drifted": result["drifted"],
            "sealed": sealed,
            "seconds": round(took, 1),
            "cases_per_second": round(result["cases"] / took, 1),
            "rss_before_replay_mb": round(before, 1),
            "rss_after_replay_mb": round(rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000, help="cases received in the year")
    parser.add_argument("--batch", type=int, default=2_000, help="documents per insert_many while seeding")
    parser.add_argument("--county-dir", type=Path, default=DEFAULT_COUNTY_DIR)
    parser.add_argument(
        "--mongodb-url", default=None, help="use this server (default: start the embedded one)"
    )
    args = parser.parse_args()
    result = on_mongodb(lambda url: run(args, url), args.mongodb_url, prefix="bench-screening-replay-")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
