"""Routing in process: decisions per second and decision time of `engine.decide`, and point lookups.

    .venv/bin/python -m bench.routing_decide --decisions 20000 --lookups 500000 [--county-dir DIR]

Decisions: a realistic mix of requests, built with a fixed seed from the texts of the county's
`sample_cases.jsonl` (and of `tests/data/routing_dev_cases.jsonl` when it exists), each with one of:
its own labelled address and point, a gazetteer address (with or without the town's name), a point
inside the county (near a gazetteer place or anywhere), a point outside it, a point together with an
address, or no location at all. After a warm-up they are decided one after the other, each timed.
Target: p99 < 5 ms.

Point lookups: single-point calls of `Locator.locate_point` on uniform random points in the county's
bounding box (a mix of inside and outside). Target: >= 50,000/s. Every answer is checked against the
plain shapely answer (county first, then the first grid, village or town by code that covers the
point), computed vectorised; the figures say how many points agreed and where they landed.

Prints the figures as JSON on the last line.
"""

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from bench.figures import latency_figures
from dispatch_common.paths import DEFAULT_COUNTY_DIR, REPO_ROOT
from services.routing.domain.county import CountyPackage
from services.routing.domain.geo import Locator
from services.routing.domain.models import Jurisdiction, RouteRequest
from services.routing.engine import RoutingEngine

DEV_CASES = REPO_ROOT / "tests" / "data" / "routing_dev_cases.jsonl"
REQUEST_FIELDS = ("channel", "text", "address", "lon", "lat", "people_count", "repeat", "earlier_cases")
LOCATION_MIX: dict[str, float] = {
    "labelled": 0.20,  # the case's own address and point, as labelled
    "gazetteer_address": 0.25,
    "point_inside": 0.20,
    "point_and_address": 0.10,
    "point_outside": 0.05,
    "no_location": 0.20,
}
"""How often each kind of location comes with a request."""


def read_cases(county_dir: Path) -> list[dict[str, Any]]:
    """The labelled cases whose texts the requests reuse: the county's sample and the dev set."""
    cases: list[dict[str, Any]] = []
    for path in (county_dir / "sample_cases.jsonl", DEV_CASES):
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            cases += [json.loads(line) for line in lines if line.strip()]
    return cases


class Mix:
    """Requests and points in and around one county, with a fixed seed."""

    def __init__(self, package: CountyPackage, cases: list[dict[str, Any]], seed: int) -> None:
        self.rng = random.Random(seed)
        self.package = package
        self.cases = cases
        self.county = package.geometries[package.county_code]
        shapely.prepare(self.county)
        self.bounds: tuple[float, float, float, float] = self.county.bounds

    def point_in_box(self) -> tuple[float, float]:
        """A uniform random point in the county's bounding box."""
        x0, y0, x1, y1 = self.bounds
        return self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)

    def point_inside(self) -> tuple[float, float]:
        """A point in the county: near a gazetteer place (within ~300 m) half the time, else anywhere."""
        while True:
            if self.rng.random() < 0.5:
                entry = self.rng.choice(self.package.gazetteer)
                lon, lat = entry.lon + self.rng.gauss(0, 0.002), entry.lat + self.rng.gauss(0, 0.002)
            else:
                lon, lat = self.point_in_box()
            if shapely.intersects_xy(self.county, lon, lat):
                return lon, lat

    def point_outside(self) -> tuple[float, float]:
        """A point outside the county: in its bounding box, just beyond it, or far away."""
        x0, y0, x1, y1 = self.bounds
        while True:
            roll = self.rng.random()
            if roll < 0.5:
                lon, lat = self.point_in_box()
            elif roll < 0.9:
                lon, lat = self.rng.uniform(x0 - 0.2, x1 + 0.2), self.rng.uniform(y0 - 0.2, y1 + 0.2)
            else:
                lon, lat = self.rng.uniform(73.0, 135.0), self.rng.uniform(18.0, 53.0)
            if not shapely.intersects_xy(self.county, lon, lat):
                return lon, lat

    def address(self) -> str:
        """A gazetteer name as an address: alone, after its town's name, or with a house number."""
        entry = self.rng.choice(self.package.gazetteer)
        roll = self.rng.random()
        if roll < 0.4:
            return entry.name
        town = self.package.area_name(entry.town) if entry.town else ""
        if roll < 0.8:
            return f"{town}{entry.name}"
        return f"{town}{entry.name}{self.rng.randrange(1, 30)}号楼{self.rng.randrange(1, 6)}单元"

    def request(self) -> tuple[str, RouteRequest]:
        """One request of the mix, and the kind of location it carries."""
        case = self.rng.choice(self.cases)
        fields = {k: case[k] for k in REQUEST_FIELDS if case.get(k) is not None}
        kind = self.rng.choices(list(LOCATION_MIX), weights=list(LOCATION_MIX.values()))[0]
        if kind != "labelled":
            fields.pop("address", None)
            fields.pop("lon", None)
            fields.pop("lat", None)
        if kind == "gazetteer_address":
            fields["address"] = self.address()
        elif kind in ("point_inside", "point_and_address"):
            fields["lon"], fields["lat"] = self.point_inside()
            if kind == "point_and_address":
                fields["address"] = self.address()
        elif kind == "point_outside":
            fields["lon"], fields["lat"] = self.point_outside()
        return kind, RouteRequest(**fields)


def shapely_answers(locator: Locator, lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
    """The most specific area code for each point, the plain way (vectorised): None outside the
    county, else the first grid by code that covers the point, else the first village, else town."""
    package = locator.package
    answers: list[str | None] = [None] * len(lons)
    todo = shapely.intersects_xy(package.geometries[package.county_code], lons, lats)
    for level in ("grid", "village", "town"):
        for code in sorted(a.code for a in package.areas_at(level) if a.code in package.geometries):
            hit = todo & shapely.intersects_xy(package.geometries[code], lons, lats)
            for i in np.flatnonzero(hit):
                answers[i] = code
            todo &= ~hit
    return answers


def most_specific(jur: Jurisdiction | None) -> str | None:
    """The code a lookup placed a point in."""
    return jur.most_specific if jur is not None else None


def bench_decisions(engine: RoutingEngine, mix: Mix, count: int, warmup: int) -> dict[str, Any]:
    """Decide `count` requests of the mix one after the other (after `warmup` others), each timed."""
    for _ in range(warmup):
        engine.decide(mix.request()[1])
    requests = [mix.request() for _ in range(count)]
    latencies: list[float] = []
    queues: Counter[str] = Counter()
    located = 0
    perf = time.perf_counter
    start = perf()
    for _, request in requests:
        t = perf()
        decision = engine.decide(request)
        latencies.append((perf() - t) * 1000)
        queues[decision.queue] += 1
        located += decision.jurisdiction.town is not None
    seconds = perf() - start
    return {
        "decisions": count,
        "decisions_per_second": round(count / seconds),
        **latency_figures(latencies),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "target_p99_ms": 5,
        "request_mix": dict(Counter(kind for kind, _ in requests)),
        "decisions_located": located,
        "queues": dict(queues),
    }


def bench_lookups(locator: Locator, mix: Mix, count: int) -> dict[str, Any]:
    """`count` single-point lookups on uniform random points of the county's bounding box."""
    points = [mix.point_in_box() for _ in range(count)]
    for lon, lat in points[: min(count, 10_000)]:  # warm-up
        locator.locate_point(lon, lat)
    locate = locator.locate_point
    start = time.perf_counter()
    found = [locate(lon, lat) for lon, lat in points]
    seconds = time.perf_counter() - start

    lons = np.fromiter((p[0] for p in points), dtype=float, count=count)
    lats = np.fromiter((p[1] for p in points), dtype=float, count=count)
    expected = shapely_answers(locator, lons, lats)
    agree = sum(most_specific(j) == e for j, e in zip(found, expected, strict=True))
    levels = Counter(
        "outside" if j is None else "grid" if j.grid else "village" if j.village else "town" for j in found
    )
    return {
        "lookups": count,
        "lookups_per_second": round(count / seconds),
        "lookup_mean_us": round(seconds / count * 1e6, 2),
        "target_lookups_per_second": 50_000,
        "lookups_in_county": count - levels["outside"],
        "lookups_in_grid": levels["grid"],
        "lookups_village_only": levels["village"],
        "lookups_town_only": levels["town"],
        "lookups_agreeing_with_shapely": agree,
    }


def main() -> int:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--county-dir", type=Path, default=DEFAULT_COUNTY_DIR)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=500, help="decisions before the timed ones")
    parser.add_argument("--lookups", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=20260601)
    args = parser.parse_args()

    t0 = time.perf_counter()
    engine = RoutingEngine.from_dir(args.county_dir)
    load_seconds = time.perf_counter() - t0
    cases = read_cases(args.county_dir)
    mix = Mix(engine.package, cases, args.seed)
    print(f"engine loaded in {load_seconds:.2f}s, {len(cases)} texts", file=sys.stderr, flush=True)
    decisions = bench_decisions(engine, mix, args.decisions, args.warmup)
    print(f"decisions: {decisions['decisions_per_second']:,}/s", file=sys.stderr, flush=True)
    lookups = bench_lookups(engine.locator, mix, args.lookups)
    result = {
        "benchmark": "routing_decide",
        "county": engine.package.county_code,
        "engine_load_seconds": round(load_seconds, 3),
        "texts": len(cases),
        **decisions,
        **lookups,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
