"""A replay decided in worker processes (REPLAY_WORKERS), on the real nats-server and the embedded
MongoDB server: the same difference documents, byte for byte and in the same order, as the replay
decided in the service's own thread; the service answers while the workers decide; and a service
stopped during a replay leaves the job cancelled and no worker process behind."""

import asyncio
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import bson
import pytest

from dispatch_common.paths import DEFAULT_COUNTY_DIR
from dispatch_common.store import connect
from tests.integration.test_routing_replay import PERIOD, START, ReplayHarness, candidate_files

pytestmark = pytest.mark.integration


def workers() -> set[int]:
    """The live worker processes this one started (multiprocessing's spawned children; not the test's
    servers, nor multiprocessing's resource tracker, which lives as long as the process that uses it)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").glob("*/children"):
        found |= set(map(int, task.read_text().split()))
    return {pid for pid in found if alive(pid) and "spawn_main" in cmdline(pid)}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def seed_copies(harness: ReplayHarness, copies: int) -> list[dict[str, Any]]:
    """The eight routed cases (two of which the candidate changes), each stored `copies` times more,
    spread over the period in turn: many chunks, with differences in each."""
    routed = list((await harness.seed()).values())
    step = timedelta(days=30) / (copies * len(routed))
    docs = []
    for i in range(copies * len(routed)):
        doc = {k: v for k, v in routed[i % len(routed)].items() if k != "outbox"}
        docs.append({**doc, "_id": str(uuid.uuid4()), "decided_at": START + step * i})
    for at in range(0, len(docs), 2000):
        await harness.routing.routes.insert_many(docs[at : at + 2000])
    return docs


async def stored_differences(harness: ReplayHarness, replay_id: str) -> list[bytes]:
    """A replay's difference documents as stored, without the job's own id, as BSON bytes."""
    items = harness.routing.replays.items  # type: ignore[union-attr]
    found = await items.find({"job_id": replay_id}).sort("seq", 1).to_list()
    return [bson.encode({k: v for k, v in d.items() if k not in ("_id", "job_id")}) for d in found]


async def start_replay(harness: ReplayHarness) -> str:
    async with harness.client("admin") as http:
        r = await http.post("/v1/admin/replays", json={**PERIOD, "package": {"files": candidate_files()}})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.fixture
async def county_dir(tmp_path: Path) -> Path:
    shutil.copytree(DEFAULT_COUNTY_DIR, tmp_path / "county")
    return tmp_path / "county"


async def test_workers_store_the_same_differences_as_the_service_alone(start_routing, county_dir) -> None:
    harness = ReplayHarness(*await start_routing(county_dir=county_dir, replay_workers=0), county_dir)
    await seed_copies(harness, 150)  # 1,208 routes: three chunks, 302 differences

    alone = await harness.replay(candidate_files())
    harness.routing.replay_workers = 2
    in_workers = await harness.replay(candidate_files())

    assert alone["status"] == in_workers["status"] == "done", (alone, in_workers)
    assert alone["result"]["cases"] == 1208 and alone["result"]["changed"] == 302
    assert in_workers["result"] == alone["result"]
    done = {"done": 1208, "total": 1208, "estimated_total": None}
    assert in_workers["progress"] == alone["progress"] == done
    first = await stored_differences(harness, alone["id"])
    second = await stored_differences(harness, in_workers["id"])
    assert len(first) == 302 and second == first
    decided = [bson.decode(d)["decided_at"] for d in second]
    assert decided == sorted(decided)


async def test_a_stopped_service_leaves_its_replay_cancelled_and_no_worker_behind(
    start_routing, county_dir
) -> None:
    harness = ReplayHarness(*await start_routing(county_dir=county_dir, replay_workers=1), county_dir)
    await seed_copies(harness, 1000)  # 8,008 routes: far more than decided before the stop
    assert not workers()

    replay_id = await start_replay(harness)
    async with harness.client("admin") as http:
        for _ in range(1200):
            job = (await http.get(f"/v1/admin/replays/{replay_id}")).json()
            if job["status"] != "running" or job["progress"]["done"] >= 500:
                break
            await asyncio.sleep(0.1)
    # the service answered while the workers decided, with how far they are and how far they will go
    assert job["status"] == "running" and job["progress"]["done"] >= 500, job
    assert job["progress"]["total"] is None and job["progress"]["estimated_total"] >= 6000, job
    deciding = workers()
    assert len(deciding) == 1

    await harness.routing.runtime.stop()

    assert not [pid for pid in deciding if alive(pid)]
    assert not workers()
    # the stopped runtime's client is closed: the job as stored, read with a client of the test's own
    replays = harness.routing.replays.docs  # type: ignore[union-attr]
    client = connect(harness.routing.runtime.settings.mongodb_url, app_name="test-replay-workers")
    try:
        stored = await client[replays.database.name][replays.name].find_one({"_id": replay_id})
    finally:
        await client.close()
    assert stored is not None and stored["status"] == "cancelled"
    assert stored["progress"]["done"] < 8008
