"""Duplicate lookup against a large case history: load N synthetic cases, time `find_links`.

    .venv/bin/python -m bench.duplicate_lookup --cases 1000000 [--mongodb-url URL]

Without a URL it starts the embedded MongoDB server on a free port in a temporary folder and stops
it (and deletes the folder) at the end; with one it uses a fresh database there and drops it.
The history is realistic in shape: ~200,000 distinct petitioner hashes (fewer for small N), points
in a ~30 x 25 km box (two thirds around 400 hot spots, the rest uniform), an address on 60% of the
cases, texts from complaint templates, received over the last two years. Then 1,000 new cases (half
by petitioners already in the history, a tenth anonymous, half of them near a hot spot, received
now) are looked up one after the other. Prints progress, then the figures as JSON on the last line.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.figures import latency_figures, on_mongodb, scratch_database
from dispatch_common.similarity import fingerprint
from services.intake.adapters.history import CaseHistory, find_links, to_ts
from services.intake.domain.duplicates import (
    CaseSnapshot,
    DuplicatePolicy,
    address_key,
    place_blocks,
    place_cell,
)

BOX = (116.30, 39.80, 116.65, 40.025)  # lon_min, lat_min, lon_max, lat_max: ~30 x 25 km
HOT_SPOTS = 400
ROADS = ["解放路", "人民路", "建设路", "中山路", "文化路", "胜利街", "新华街", "和平路", "工农路", "府前街"]
ESTATES = ["幸福小区", "阳光花园", "锦绣家园", "金色港湾", "翠湖苑", "东方明珠小区", "和谐家园", "书香门第"]
TEMPLATES = [
    "{place}停水{n}天了，也没有提前通知，生活很不方便",
    "{place}楼下广场舞音响太吵，每天晚上放到{h}点多，影响休息",
    "{place}路边垃圾桶满了好几天没人清运，臭味很大",
    "{place}的装修公司拖欠工人工资{n}个月，要求尽快解决",
    "{place}电梯经常困人，物业不管，存在安全隐患",
    "{place}路灯坏了{n}个星期没人修，晚上出行不安全",
    "{place}下水道堵塞，污水漫到路面上，希望尽快疏通",
    "{place}路口红绿灯不亮，车辆乱成一团，容易出事故",
    "{place}有人占道经营，烧烤油烟很大，熏得没法开窗",
    "{place}工地夜间施工噪音扰民，已经持续{n}天了",
    "{place}小区停车位被外来车辆长期占用，业主没地方停车",
    "{place}有人私搭乱建，占用公共绿地",
    "{place}自来水发黄有异味，不敢饮用",
    "{place}暖气不热，室内温度只有{h}度，老人孩子受不了",
    "{place}井盖缺失，路过的行人很危险",
    "{place}流浪狗很多，晚上追咬行人",
    "{place}商铺门前积水严重，下雨天根本走不了",
    "{place}公交站牌被撞坏了，一直没人修",
    "{place}餐馆油烟直排，邻居意见很大",
    "{place}小区物业乱收费，停车费一年涨了{n}百元",
    "{place}学校门口上下学时间交通拥堵，希望增派交警",
    "{place}农贸市场卫生条件差，污水横流",
    "{place}楼道里堆满杂物，存在消防隐患",
    "{place}燃气管道有漏气的味道，担心出事",
    "{place}共享单车乱停乱放，堵住了人行道",
]


class Synth:
    """Synthetic cases with a fixed seed."""

    def __init__(self, cases: int, seed: int, policy: DuplicatePolicy, now: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.policy = policy
        self.now = now
        self.span = days * 86400
        self.hashes = [f"{self.rng.getrandbits(128):032x}" for _ in range(max(10, min(200_000, cases // 5)))]
        lon0, lat0, lon1, lat1 = BOX
        self.spots = [
            (self.rng.uniform(lon0, lon1), self.rng.uniform(lat0, lat1), self._address())
            for _ in range(HOT_SPOTS)
        ]
        texts = {self._text() for _ in range(6000)}
        self.fingerprints = [fingerprint(t) for t in sorted(texts)]

    def _address(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"{rng.choice(ROADS)}{rng.randrange(1, 300)}号"
        return f"{rng.choice(ESTATES)}{rng.randrange(1, 40)}号楼"

    def _text(self) -> str:
        rng = self.rng
        place = rng.choice([*ROADS, *ESTATES, "我家", "我们", "附近"])
        return rng.choice(TEMPLATES).format(place=place, n=rng.randrange(2, 10), h=rng.randrange(9, 12))

    def point(self) -> tuple[float, float, str | None]:
        rng = self.rng
        if rng.random() < 2 / 3:
            lon, lat, addr = rng.choice(self.spots)
            lon, lat = lon + rng.gauss(0, 0.003), lat + rng.gauss(0, 0.0025)
            return lon, lat, addr if rng.random() < 0.6 else None
        lon0, lat0, lon1, lat1 = BOX
        return (
            rng.uniform(lon0, lon1),
            rng.uniform(lat0, lat1),
            self._address() if rng.random() < 0.6 else None,
        )

    def document(self, i: int) -> dict:
        rng = self.rng
        lon, lat, addr = self.point()
        fp = rng.choice(self.fingerprints)
        received = self.now - timedelta(seconds=rng.uniform(0, self.span))
        anonymous = rng.random() < 0.1
        repeat_of = f"h{rng.randrange(max(1, i))}" if rng.random() < 0.15 else None
        return {
            "_id": f"h{i}",
            "case_no": f"990102-{received.year}-{i:07d}",
            "received_at": received,
            "received_ts": to_ts(received),
            "petitioner_hash": None if anonymous else rng.choice(self.hashes),
            "place_cell": (cell := place_cell(lon, lat, self.policy.cell_deg)),
            **place_blocks(cell),
            "address_key": address_key(addr),
            "text": fp.text,
            "tokens": list(fp.tokens),
            "incident_id": f"h{i}",
            "incident_rep": True,  # each its own incident, so each is compared
            "repeat_of": repeat_of,
            "is_repeat": repeat_of is not None,
            "outcome": rng.choice(["accepted", "accepted", "not_accepted", "transferred", None]),
            "outcome_ts": None,
        }

    def new_case(self, j: int) -> CaseSnapshot:
        rng = self.rng
        lon, lat, addr = self.point()
        roll = rng.random()
        petitioner = None if roll < 0.1 else rng.choice(self.hashes) if roll < 0.6 else f"new{j:x}"
        fp = rng.choice(self.fingerprints)
        snap = CaseSnapshot.build(
            case_id=f"n{j}",
            case_no=f"990102-2026-9{j:06d}",
            received_at=self.now + timedelta(seconds=j),
            text=fp.text,
            policy=self.policy,
            petitioner_hash=petitioner,
            lon=lon,
            lat=lat,
            address=addr,
        )
        return snap


async def run(args: argparse.Namespace, url: str) -> dict:
    policy = DuplicatePolicy.load()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    synth = Synth(args.cases, args.seed, policy, now, args.days)
    print(f"synthetic vocabulary ready in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    database = scratch_database(
        url, app_name="bench-duplicate-lookup", prefix="bench_dup", drop=bool(args.mongodb_url)
    )
    async with database as db:
        history = CaseHistory(db)
        await history.ensure_indexes()
        start = time.perf_counter()
        loaded = 0
        next_report = start + 15
        while loaded < args.cases:
            batch = [synth.document(i) for i in range(loaded, min(args.cases, loaded + args.batch))]
            await history.col.insert_many(batch, ordered=False)
            loaded += len(batch)
            if time.perf_counter() >= next_report:
                rate = loaded / (time.perf_counter() - start)
                print(f"loaded {loaded:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
                next_report += 15
        load_seconds = time.perf_counter() - start
        print(f"loaded {loaded:,} in {load_seconds:.1f}s", file=sys.stderr, flush=True)

        snapshots = [synth.new_case(j) for j in range(args.lookups)]
        for snap in snapshots[:20]:  # warm the connection pool and the server's caches
            await find_links(history, snap, policy)
        latencies: list[float] = []
        repeats = incidents = 0
        for snap in snapshots:
            t = time.perf_counter()
            links = await find_links(history, snap, policy)
            latencies.append((time.perf_counter() - t) * 1000)
            repeats += links.repeat_of is not None
            incidents += links.incident_of is not None
        probe = snapshots[0].petitioner_hash or synth.hashes[0]
        t = time.perf_counter()
        figures = await history.petitioner_history((probe,))
        history_ms = (time.perf_counter() - t) * 1000
        return {
            "benchmark": "duplicate_lookup",
            "cases": loaded,
            "load_seconds": round(load_seconds, 1),
            "load_per_second": round(loaded / load_seconds) if load_seconds else None,
            "lookups": len(latencies),
            **latency_figures(latencies),
            "mean_ms": round(statistics.fmean(latencies), 2),
            "repeats_found": repeats,
            "incidents_found": incidents,
            "petitioner_history_ms": round(history_ms, 2),
            "petitioner_history_cases": figures["cases"],
            "target_p99_ms": 20,
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10_000, help="documents per insert_many")
    parser.add_argument("--days", type=int, default=730, help="how far back the history goes")
    parser.add_argument("--seed", type=int, default=20260601)
    parser.add_argument(
        "--mongodb-url", default=None, help="use this server (default: start the embedded one)"
    )
    args = parser.parse_args()
    result = on_mongodb(lambda url: run(args, url), args.mongodb_url, prefix="bench-dup-")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
