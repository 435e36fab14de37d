"""Routing's HTTP API in process on the real nats-server and the embedded MongoDB server: the manual
dispatch queue and the joint conference's queue a page at a time while cases move, and ETag/If-Match
on a route's changes (two changes made from one version: one success, one 412)."""

import asyncio
import json
from typing import Any

import httpx
import pytest

from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.routing_support import Harness

pytestmark = pytest.mark.integration

SAMPLES = [json.loads(line) for line in (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text().splitlines()]
MANUAL = [s for s in SAMPLES if "manual" in s["expect"]["flags"]]
AUTO = [s for s in SAMPLES if s["expect"].get("town") and not s["expect"]["flags"]]


@pytest.fixture
async def harness(start_routing) -> Harness:
    return Harness(*await start_routing())


async def walk(api: httpx.AsyncClient, path: str, limit: int, between: Any = None) -> list[str]:
    """Every case id of a list, page by page (`between(n)` runs after page n)."""
    seen: list[str] = []
    cursor, n = None, 0
    while True:
        r = await api.get(path, params={"limit": limit} | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        seen += [item["case_id"] for item in page["items"]]
        n += 1
        if between is not None:
            await between(n)
        if page["next_cursor"] is None:
            return seen
        cursor = page["next_cursor"]


def a_town(harness: Harness) -> str:
    return next(code for code, area in harness.routing.engine.package.areas.items() if area.level == "town")


async def test_the_manual_queue_lists_what_waits_for_a_dispatcher_oldest_first_with_why(harness):
    manual = [await harness.route(MANUAL[i % len(MANUAL)]) for i in range(5)]
    await harness.route(AUTO[0])  # placed by routing: not in the queue
    mine = {d["_id"] for d in manual}
    async with harness.client("dispatcher") as dispatcher:
        r = await dispatcher.get("/v1/routes/manual", params={"limit": 200})
        assert r.status_code == 200, r.text
        items = [i for i in r.json()["items"] if i["case_id"] in mine]
        assert [i["case_id"] for i in items] == [d["_id"] for d in manual]  # oldest first
        first = items[0]
        assert first["queue"] == "manual" and first["manual_reason"]
        assert first["explanation"][-1].startswith("Queue manual")
        assert first == (await dispatcher.get(f"/v1/routes/{first['case_id']}")).json()  # what a route shows
        assert (await dispatcher.get("/v1/routes/manual", params={"limit": 201})).status_code == 422
        bad = await dispatcher.get("/v1/routes/manual", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422

        # while a dispatcher pages through the queue, one seen case is placed and a new one comes in
        async def meanwhile(page: int) -> None:
            if page == 1:
                change = {"area": a_town(harness), "reason": "来电人补充了所在乡镇"}
                placed = await dispatcher.post(f"/v1/routes/{manual[0]['_id']}/override", json=change)
                assert placed.status_code == 200 and placed.json()["queue"] == "auto", placed.text
                manual.append(await harness.route(MANUAL[0]))

        walked = [
            i
            for i in await walk(dispatcher, "/v1/routes/manual", 2, meanwhile)
            if i in mine | {manual[-1]["_id"]}
        ]
    assert walked == [d["_id"] for d in manual]  # none skipped, none repeated, the newcomer last
    async with harness.client("unit_handler", unit="any") as unit:
        assert (await unit.get("/v1/routes/manual")).status_code == 403


async def test_the_conference_queue_pages_by_cursor(harness):
    disputed = []
    for sample in AUTO[:3]:
        doc = await harness.route(sample)
        await harness.routing.routes.replace_one(
            {"_id": doc["_id"]},
            {**doc, "status": "disputed", "disputed_at": harness.clock.now(), "dispute_reason": "两次退单"},
        )
        disputed.append(doc["_id"])
    async with harness.client("supervisor") as supervisor:
        walked = await walk(supervisor, "/v1/disputes", 1)
        r = await supervisor.get("/v1/disputes", params={"offset": 1})
    assert [i for i in walked if i in disputed] == disputed
    assert "offset" not in r.json() and "next_cursor" in r.json()  # no offset paging any more


async def test_two_overrides_from_one_version_give_one_success_and_one_412(harness):
    doc = await harness.route(AUTO[0])
    case_id = doc["_id"]
    town = a_town(harness)
    async with harness.client("dispatcher") as a, harness.client("supervisor") as b:
        read = await a.get(f"/v1/routes/{case_id}")
        tag = read.headers["ETag"]
        assert tag == f'"{read.json()["version"]}"'
        change = {"area": town, "reason": "核实后改派"}
        answers = await asyncio.gather(
            *(
                c.post(f"/v1/routes/{case_id}/override", json=change, headers={"If-Match": tag})
                for c in (a, b)
            )
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 412], [r.text for r in answers]
        won = next(r for r in answers if r.status_code == 200)
        lost = next(r for r in answers if r.status_code == 412)
        assert won.headers["ETag"] == lost.headers["ETag"] != tag  # the 412 says the version to read
        now = await a.get(f"/v1/routes/{case_id}")
        assert now.headers["ETag"] == won.headers["ETag"] and now.json()["revision"] == 2
        # a change made from the version read now goes through; without If-Match, as before
        fresh = await a.post(
            f"/v1/routes/{case_id}/override", json=change, headers={"If-Match": now.headers["ETag"]}
        )
        assert fresh.status_code == 200, fresh.text
        assert (await a.post(f"/v1/routes/{case_id}/override", json=change)).status_code == 200
