"""What-if replay on the real nats-server and the embedded MongoDB server: routes stored as the
consumer stores them, replayed with a candidate package that moves one place to another town and adds
a lexicon phrase (exactly those two cases change, both explanations side by side, the store is
untouched); a candidate with a problem refused field by field; and activation, which records the
report the package was approved on."""

import asyncio
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch_common.clock import FixedClock
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from services.routing.container import Routing
from services.routing.domain.county import PACKAGE_FILES
from tests.helpers import RELAY_FIELDS_OUT
from tests.routing_support import Harness

pytestmark = pytest.mark.integration

SAMPLES = [json.loads(line) for line in (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text().splitlines()]
UNMOVED = [s for s in SAMPLES if s["expect"].get("town")][:6]
NEW_PHRASE, NEW_PHRASE_CODE = "飞絮卡丁车", "0201"  # a phrase no package file has, for a known sub-category
START = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD = {"from": START.isoformat(), "to": (START + timedelta(days=31)).isoformat()}


def gazetteer() -> list[dict[str, Any]]:
    return json.loads((DEFAULT_COUNTY_DIR / "gazetteer.json").read_text(encoding="utf-8"))


def moved_place() -> tuple[dict[str, Any], dict[str, Any]]:
    """A gazetteer place no other name contains (nor is contained in), and a place of another town."""
    entries = gazetteer()
    names = [e["name"] for e in entries]
    place = next(
        e for e in entries if e.get("village") and sum(e["name"] in n or n in e["name"] for n in names) == 1
    )
    other = next(e for e in entries if e.get("village") and e["town"] != place["town"])
    return place, other


def candidate_files() -> dict[str, str]:
    """The candidate, the whole package (more than the 256 KiB other bodies may have): the place moved
    into the other town's village (and grid), and a new phrase."""
    place, other = moved_place()
    entries = gazetteer()
    for entry in entries:
        if entry["name"] == place["name"]:
            entry.update({k: other.get(k) for k in ("grid", "village", "town", "lon", "lat")})
    lexicon = json.loads((DEFAULT_COUNTY_DIR / "lexicon.json").read_text(encoding="utf-8"))
    lexicon["phrases"][NEW_PHRASE_CODE][NEW_PHRASE] = 3.0
    whole = {name: (DEFAULT_COUNTY_DIR / name).read_text(encoding="utf-8") for name in PACKAGE_FILES}
    return whole | {
        "gazetteer.json": json.dumps(entries, ensure_ascii=False, indent=1),
        "lexicon.json": json.dumps(lexicon, ensure_ascii=False, indent=1),
    }


class ReplayHarness(Harness):
    """Routing with a county package of its own (a copy the activation test changes)."""

    def __init__(self, routing: Routing, client: Callable[..., httpx.AsyncClient], county_dir: Path) -> None:
        super().__init__(routing, client)
        self.county_dir = county_dir
        self.clock = FixedClock(START + timedelta(days=1))

    async def seed(self) -> dict[str, dict[str, Any]]:
        """Six sample cases that the candidate leaves alone, one at the moved place, one with the phrase."""
        place, _ = moved_place()
        routes = {}
        for sample in UNMOVED:
            fields = {k: v for k, v in sample.items() if k not in ("id", "expect")}
            routes[sample["id"]] = await self.route(fields)
        hotline = {"channel": "hotline_12345"}
        text = "路边垃圾桶满了好几天没人清运，臭味很大。"
        routes["moved"] = await self.route(hotline | {"text": text, "address": place["name"]})
        asked = f"反映一下关于{NEW_PHRASE}的问题，希望尽快处理。"
        routes["phrase"] = await self.route(hotline | {"text": asked, "address": UNMOVED[0]["address"]})
        return routes

    async def replay(self, files: dict[str, str]) -> dict[str, Any]:
        async with self.client("admin") as http:
            r = await http.post("/v1/admin/replays", json={**PERIOD, "package": {"files": files}})
            assert r.status_code == 202, r.text
            location = r.headers["location"]
            for _ in range(600):
                job = (await http.get(location)).json()
                if job["status"] != "running":
                    return job
                await asyncio.sleep(0.05)
        raise AssertionError("the replay did not finish")

    async def differences(self, replay_id: str) -> list[dict[str, Any]]:
        items, cursor = [], None
        async with self.client("admin") as http:
            while True:
                params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
                page = (await http.get(f"/v1/admin/replays/{replay_id}/differences", params=params)).json()
                items += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    return items


@pytest.fixture
async def harness(start_routing, tmp_path) -> ReplayHarness:
    county_dir = tmp_path / "county"
    shutil.copytree(DEFAULT_COUNTY_DIR, county_dir)
    return ReplayHarness(*await start_routing(county_dir=county_dir), county_dir)


async def test_a_replay_reports_exactly_the_cases_the_candidate_changes(harness: ReplayHarness) -> None:
    routes = await harness.seed()
    place, other = moved_place()
    assert routes["moved"]["decision"]["jurisdiction"]["town"] == place["town"]
    assert routes["phrase"]["decision"]["category"]["code"] != NEW_PHRASE_CODE[:2]
    await asyncio.sleep(0.5)  # the relay publishes the route events (the outbox is marked, not the route)
    stored_before = await harness.routing.routes.find({}, RELAY_FIELDS_OUT).sort("_id", 1).to_list()
    version = harness.routing.engine.version

    job = await harness.replay(candidate_files())

    assert job["status"] == "done", job
    assert job["baseline_version"] == version and job["candidate_version"] != version
    assert job["progress"] == {"done": 8, "total": 8, "estimated_total": None}
    assert job["result"]["cases"] == 8 and job["result"]["changed"] == 2
    found = {d["case_id"]: d for d in await harness.differences(job["id"])}
    assert set(found) == {routes["moved"]["_id"], routes["phrase"]["_id"]}
    moved = found[routes["moved"]["_id"]]
    assert "town" in moved["changed"]
    assert (moved["before"]["town"], moved["after"]["town"]) == (place["town"], other["town"])
    assert moved["before"]["explanation"] and moved["after"]["explanation"]
    assert moved["before"]["explanation"] != moved["after"]["explanation"]
    phrase = found[routes["phrase"]["_id"]]
    assert "town" not in phrase["changed"] and "category" in phrase["changed"]
    assert phrase["after"]["category"] == NEW_PHRASE_CODE[:2]
    assert any(NEW_PHRASE in line for line in phrase["after"]["explanation"])
    assert not any(NEW_PHRASE in line for line in phrase["before"]["explanation"])
    # the load moved: every case that left a unit arrived at another or the manual queue, and back
    units = job["result"]["units"]
    assert sum(u["before"] for u in units) - sum(u["moved_out"] for u in units) == sum(
        u["after"] for u in units
    ) - sum(u["moved_in"] for u in units)
    # nothing changed: the routes as stored, and the package in use
    assert await harness.routing.routes.find({}, RELAY_FIELDS_OUT).sort("_id", 1).to_list() == stored_before
    assert harness.routing.engine.version == version


async def test_an_invalid_candidate_is_refused_with_the_file_and_the_problem(harness: ReplayHarness) -> None:
    entries = gazetteer()
    entries[0]["village"] = "990102999999"
    async with harness.client("admin") as http:
        r = await http.post(
            "/v1/admin/replays",
            json={**PERIOD, "package": {"files": {"gazetteer.json": json.dumps(entries), "units.jsn": "[]"}}},
        )
        assert r.status_code == 422, r.text
        assert any(e["loc"][-2:] == ["package", "files"] for e in r.json()["errors"])  # the unknown file
        # a package larger than the 256 KiB other bodies may have (geography padded with blanks)
        geography = (DEFAULT_COUNTY_DIR / "geography.geojson").read_text(encoding="utf-8") + " " * 300_000
        files = {"gazetteer.json": json.dumps(entries), "geography.geojson": geography}
        assert (await http.post("/v1/routes/preview", json={"text": geography})).status_code == 413
        r = await http.post("/v1/admin/replays", json={**PERIOD, "package": {"files": files}})
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert errors and all(e["loc"] == ["body", "package", "files", "gazetteer.json"] for e in errors)
    assert any("990102999999" in e["msg"] for e in errors)
    assert await harness.routing.replays.docs.count_documents({}) == 0  # type: ignore[union-attr]


async def test_only_the_administrator_replays(harness: ReplayHarness) -> None:
    async with harness.client("dispatcher") as http:
        r = await http.post("/v1/admin/replays", json=PERIOD)
    assert r.status_code == 403


async def test_activation_records_the_report_the_package_was_approved_on(harness: ReplayHarness) -> None:
    await harness.seed()
    files = candidate_files()
    job = await harness.replay(files)
    old = harness.routing.engine.version
    async with harness.client("admin") as http:
        # the package on disk is still the old one: refused, nothing changes
        r = await http.post("/v1/admin/county/reload", json={"replay_id": job["id"]})
        assert r.status_code == 409, r.text
        assert harness.routing.engine.version == old
        for name, text in files.items():
            (harness.county_dir / name).write_text(text, encoding="utf-8")
        r = await http.post("/v1/admin/county/reload", json={"replay_id": job["id"]})
        assert r.status_code == 200, r.text
        assert r.json()["package_version"] == job["candidate_version"] == harness.routing.engine.version
        county = (await http.get("/v1/admin/county")).json()
    approval = county["approval"]
    assert approval["replay_id"] == job["id"] and approval["replaced_version"] == old
    assert approval["report"]["changed"] == 2 and approval["units"] == job["result"]["units"]
    assert approval["approved_by"]
