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
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.jobs import Job
from services.routing.container import Routing, load_engine
from services.routing.domain.county import PACKAGE_FILES
from services.routing.domain.models import RouteRequest
from services.routing.domain.replay import UnitLoad, changed_parts, outline, side
from services.routing.engine import RoutingEngine
from services.routing.replay_workers import DecidePool, InThread

BATCH = 500  # routes per chunk: decided in one thread hop or one worker's task, then written
READ_BATCH = 2000  # routes per reply of the store's cursor
READ_ROUTES = 20_000  # routes a read query aims at (read_period)
MIN_WINDOW, MAX_WINDOW = timedelta(hours=1), timedelta(days=31)  # the time one read query covers
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

    def merge(self, other: "Tally") -> None:
        """Add what another tally counted (a chunk decided in a worker)."""
        self.cases += other.cases
        self.changed += other.changed
        self.drifted += other.drifted
        self.parts.update(other.parts)
        self.load.merge(other.load)

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


def compare_chunk(
    baseline: RoutingEngine, candidate: RoutingEngine, routes: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Tally]:
    """One chunk of stored routes compared: its differences and its own tally (run in a thread of
    the service or in a worker process)."""
    tally = Tally()
    return compare(baseline, candidate, routes, tally), tally


async def read_period(
    routes: AsyncCollection, start: datetime, end: datetime
) -> AsyncIterator[dict[str, Any]]:
    """The routes decided in [start, end), in order of decision, read a window of time at a time,
    each window sized to hold about READ_ROUTES routes by the density of the one before.

    The embedded server sorts all a query matches before its first answer (a year's 300,000 routes
    outlasted the client's one-minute wait) and each query also costs in proportion to the
    collection (a day's window of a 30,000-route collection: 0.3 s): so neither one query nor one a
    day, but a few dozen for a year."""
    at, window = start, timedelta(days=1)
    while at < end:
        until = min(at + window, end)
        query = {"decided_at": {"$gte": at, "$lt": until}}
        read = 0
        async for doc in routes.find(query, PROJECTION).sort("decided_at", 1).batch_size(READ_BATCH):
            read += 1
            yield doc
        grown = window * (READ_ROUTES / read) if read else window * 4
        window = min(max(grown, MIN_WINDOW), MAX_WINDOW)
        at = until


def estimate(done: int, start: datetime, reached: datetime, end: datetime) -> int | None:
    """The period's routes, guessed from those replayed up to `reached` (at the same rate for the
    rest of [start, end)); none before the first."""
    covered, span = (reached - start).total_seconds(), (end - start).total_seconds()
    if done == 0 or covered <= 0:
        return None
    return max(done, round(done * span / covered))


async def run(
    job: Job,
    *,
    routing: Routing,
    candidate: RoutingEngine,
    start: datetime,
    end: datetime,
    workers: int = 0,
) -> dict[str, Any]:
    """Replay the routes decided in [start, end) in order of decision, saving progress at each step.

    With `workers`, the chunks are decided in that many worker processes (replay_workers.DecidePool)
    while the service reads the next ones; without, in a thread of the service, one at a time. The
    differences are stored in the order of decision either way. The routes are not counted first (a
    count of a year took over a minute on the embedded server): while the job runs, `total` is null
    and `estimated_total` follows from how far into the period the replay is."""
    baseline = routing.engine  # the package in use when the replay started, with what it learned
    candidate = await trained(candidate, routing)
    until = min(end, routing.clock.now())  # no route is decided after the replay starts
    job.progress(0, None)
    await job.save()
    tally = Tally()
    Chunk = tuple["asyncio.Future[tuple[list[dict[str, Any]], Tally]]", datetime]

    async def settle(chunk: Chunk) -> None:
        decided, reached = chunk
        found, part = await decided
        tally.merge(part)
        await job.add_items(found)
        job.progress(tally.cases, None, estimated_total=estimate(tally.cases, start, reached, until))
        await job.save()

    deciders = DecidePool(workers, baseline, candidate) if workers else InThread(baseline, candidate)
    in_flight: deque[Chunk] = deque()
    finished = False
    try:
        batch: list[dict[str, Any]] = []
        async for doc in read_period(routing.routes, start, end):
            batch.append(doc)
            if len(batch) >= BATCH:
                in_flight.append((deciders.submit(batch), batch[-1]["decided_at"]))
                batch = []
                while len(in_flight) > deciders.ahead:
                    await settle(in_flight.popleft())
        if batch:
            in_flight.append((deciders.submit(batch), batch[-1]["decided_at"]))
        while in_flight:
            await settle(in_flight.popleft())
        job.progress(tally.cases, tally.cases)
        finished = True
    finally:
        await deciders.close(cancelled=not finished)
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
