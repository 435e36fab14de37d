"""What-if replay (回放): the routes of a period decided again with a candidate county package, beside
the package in use, without changing anything; and the approval record of a package activated on a
replay's report.

Both sides are decided by the same `RoutingEngine.decide` the consumer calls (handlers.route_case),
from the request each route stored; the candidate engine is built and validated as a reload builds
one (bootstrap.load_engine) and learns from the same stored corrections (the examples and places
people gave). Nothing is written but the job, its differences and, on activation, the approval.
"""

import asyncio
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.jobs import Job
from services.routing.container import Routing, load_engine
from services.routing.domain.county import PACKAGE_FILES
from services.routing.domain.models import RouteRequest
from services.routing.domain.replay import UnitLoad, changed_parts, outline, side
from services.routing.engine import RoutingEngine

BATCH = 500  # routes read, decided (in one thread hop) and written per step
PROJECTION = {"case_no": 1, "request": 1, "decision": 1, "decided_at": 1}


def write_candidate(files: dict[str, str], current: Path, into: Path) -> None:
    """The candidate package as a directory: the files given, the others copied from the package in
    use byte for byte (so a package of the same files has the same version)."""
    for name in PACKAGE_FILES:
        target = into / name
        if name in files:
            target.write_text(files[name], encoding="utf-8")
        else:
            target.write_bytes((current / name).read_bytes())


def load_candidate(files: dict[str, str], routing: Routing) -> RoutingEngine:
    """The candidate's engine, validated as the loader validates (CountyPackageError lists every
    problem); untrained."""
    with tempfile.TemporaryDirectory(prefix="candidate-") as tmp:
        write_candidate(files, routing.county_dir, Path(tmp))
        return load_engine(Path(tmp), routing.deadline_policy_file)


async def trained(candidate: RoutingEngine, routing: Routing) -> RoutingEngine:
    """The candidate with what routing learned from people's corrections, as a reload would train it."""
    examples = await routing.examples(candidate.package)
    places = await routing.place_examples(candidate.package)
    engine = await asyncio.to_thread(candidate.train, examples)
    return await asyncio.to_thread(engine.learn_places, places)


@dataclass
class Tally:
    """What a replay counts as it goes."""

    cases: int = 0
    changed: int = 0
    drifted: int = 0  # stored decisions the package in use would now decide otherwise
    parts: Counter[str] = field(default_factory=Counter)
    load: UnitLoad = field(default_factory=UnitLoad)

    def result(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "changed": self.changed,
            "drifted": self.drifted,
            "changed_parts": dict(sorted(self.parts.items())),
            "units": self.load.rows(),
        }


def compare(
    baseline: RoutingEngine, candidate: RoutingEngine, routes: list[dict[str, Any]], tally: Tally
) -> list[dict[str, Any]]:
    """Decide each stored route's request by both engines; the differences (run in a thread)."""
    out: list[dict[str, Any]] = []
    for doc in routes:
        request = RouteRequest(**doc["request"])
        before, after = baseline.decide(request), candidate.decide(request)
        was, will = outline(before), outline(after)
        tally.cases += 1
        tally.load.add(was, will)
        if changed_parts(outline(doc["decision"]), was):
            tally.drifted += 1
        parts = changed_parts(was, will)
        if not parts:
            continue
        tally.changed += 1
        tally.parts.update(parts)
        withheld = request.confidential
        out.append(
            {
                "case_id": doc["_id"],
                "case_no": doc["case_no"],
                "decided_at": doc["decided_at"],
                "confidential": withheld,
                "changed": parts,
                "before": side(before, withheld=withheld),
                "after": side(after, withheld=withheld),
            }
        )
    return out


async def run(
    job: Job, *, routing: Routing, candidate: RoutingEngine, start: datetime, end: datetime
) -> dict[str, Any]:
    """Replay the routes decided in [start, end) in order of decision, saving progress at each step."""
    baseline = routing.engine  # the package in use when the replay started, with what it learned
    candidate = await trained(candidate, routing)
    query = {"decided_at": {"$gte": start, "$lt": end}}
    total = await routing.routes.count_documents(query)
    job.progress(0, total)
    await job.save()
    tally = Tally()

    async def step(batch: list[dict[str, Any]]) -> None:
        found = await asyncio.to_thread(compare, baseline, candidate, batch, tally)
        await job.add_items(found)
        job.progress(tally.cases, max(total, tally.cases))
        await job.save()

    batch: list[dict[str, Any]] = []
    cursor = routing.routes.find(query, PROJECTION).sort("decided_at", 1).batch_size(BATCH)
    async for doc in cursor:
        batch.append(doc)
        if len(batch) >= BATCH:
            await step(batch)
            batch = []
    if batch:
        await step(batch)
    return tally.result()


async def record_approval(
    approvals: AsyncCollection, replay: dict[str, Any], *, by: str, at: datetime
) -> dict[str, Any]:
    """Record that the package `replay` tried is in use, approved on that replay's report."""
    doc = {
        "_id": f"{replay['candidate_version']}:{replay['_id']}:{at.isoformat()}",
        "package_version": replay["candidate_version"],
        "replaced_version": replay["baseline_version"],
        "replay_id": replay["_id"],
        "period": replay["period"],
        "report": {k: v for k, v in (replay["result"] or {}).items() if k != "units"},
        "units": (replay["result"] or {}).get("units", []),
        "approved_by": by,
        "approved_at": at,
    }
    await approvals.insert_one(doc)
    return doc


async def approval_of(approvals: AsyncCollection, version: str) -> dict[str, Any] | None:
    """The latest approval recorded for a package version, if any."""
    found = approvals.find({"package_version": version}).sort("approved_at", -1).limit(1)
    async for doc in found:
        return doc
    return None
