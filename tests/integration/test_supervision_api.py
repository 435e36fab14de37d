"""Supervision over HTTP on the real servers: the worklist's cursor pages while cases come and go, and
the case file's ETag, which makes two actions from one version one success and one 412."""

import asyncio
from datetime import timedelta

import pytest

from services.supervision.adapters.repository import NO_DUE
from tests.supervision_cases import LEAD, assigned, route

pytestmark = pytest.mark.integration

OTHER = {"code": "T2-GOV", "name": "另一镇政府", "type": "town_government", "role": "lead"}


async def pages(client, **params) -> list[list[str]]:
    """Every page of the worklist, each as its case ids, following next_cursor."""
    out: list[list[str]] = []
    cursor = None
    while True:
        r = await client.get("/v1/worklist", params=params | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        body = r.json()
        out.append([i["case_id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return out


async def test_the_worklist_pages_by_cursor_without_skipping_or_repeating_as_cases_change(
    supervision_service,
):
    h = supervision_service
    files, clock = h.sv.files, h.clock
    start = clock.now()
    for i in range(6):  # one sign limit after the other: c0 is due first
        await assigned(files, clock, case_id=f"c{i}")
        clock.advance(timedelta(hours=1))
    async with h.client("unit_handler", LEAD["code"]) as unit:
        assert await pages(unit, limit=4) == [["c0", "c1", "c2", "c3"], ["c4", "c5"]]

        first = (await unit.get("/v1/worklist", params={"limit": 2})).json()
        assert [i["case_id"] for i in first["items"]] == ["c0", "c1"] and first["next_cursor"]
        # a case due before every other arrives: an offset of 2 would now show c1 again
        clock.set(start - timedelta(days=3))
        await assigned(files, clock, case_id="early")
        second = (await unit.get("/v1/worklist", params={"limit": 2, "cursor": first["next_cursor"]})).json()
        assert [i["case_id"] for i in second["items"]] == ["c2", "c3"]
        # c0 and c1 go to another unit: an offset of 4 would now skip c4
        for gone in ("c0", "c1"):
            await route(files, clock, gone, lead=OTHER, revision=2)
        third = (await unit.get("/v1/worklist", params={"limit": 2, "cursor": second["next_cursor"]})).json()
        assert [i["case_id"] for i in third["items"]] == ["c4", "c5"] and third["next_cursor"] is None

        everything = await pages(unit, limit=2)
        assert [c for page in everything for c in page] == ["early", "c2", "c3", "c4", "c5"]
        bad = await unit.get("/v1/worklist", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422
        assert (await unit.get("/v1/worklist", params={"limit": 201})).status_code == 422


async def test_two_actions_from_one_version_of_the_case_file_give_one_success_and_one_412(
    supervision_service,
):
    h = supervision_service
    await assigned(h.sv.files, h.clock, case_id="c1")
    async with h.client("unit_handler", LEAD["code"]) as unit:
        r = await unit.get("/v1/cases/c1")
        version = r.headers["ETag"]
        assert r.status_code == 200 and version == f'"{r.json()["version"]}"'

        signed = await unit.post("/v1/cases/c1/sign", json={}, headers={"If-Match": version})
        assert signed.status_code == 200 and signed.json()["status"] == "signed"
        now = signed.headers["ETag"]
        assert now != version and (await unit.get("/v1/cases/c1")).headers["ETag"] == now

        stale = await unit.post(
            "/v1/cases/c1/progress", json={"note": "旧版本"}, headers={"If-Match": version}
        )
        assert stale.status_code == 412 and stale.headers["ETag"] == now

        both = await asyncio.gather(
            *(
                unit.post("/v1/cases/c1/progress", json={"note": note}, headers={"If-Match": now})
                for note in ("甲", "乙")
            )
        )
        assert sorted(r.status_code for r in both) == [200, 412]
        doc = await h.sv.files.get("c1")
        assert [a["note"] for a in doc["actions"] if a["action"] == "progress"] in (["甲"], ["乙"])

        # without If-Match an action is applied as before
        plain = await unit.post("/v1/cases/c1/progress", json={"note": "无版本"})
        assert plain.status_code == 200


async def test_the_warnings_and_recommendations_page_by_cursor(supervision_service):
    h = supervision_service
    await assigned(h.sv.files, h.clock, case_id="c1")
    async with h.client("supervisor") as supervisor:
        made = []
        for i in range(3):
            r = await supervisor.post(
                f"/v1/units/{LEAD['code']}/recommendations", json={"kind": "improve_work", "text": f"建议{i}"}
            )
            assert r.status_code == 201, r.text
            made.append(r.json()["recommendation_id"])
            h.clock.advance(timedelta(minutes=1))
        first = (
            await supervisor.get(f"/v1/units/{LEAD['code']}/recommendations", params={"limit": 2})
        ).json()
        assert [i["recommendation_id"] for i in first["items"]] == made[:2]
        second = (
            await supervisor.get(
                f"/v1/units/{LEAD['code']}/recommendations",
                params={"limit": 2, "cursor": first["next_cursor"]},
            )
        ).json()
        assert [i["recommendation_id"] for i in second["items"]] == made[2:] and second["next_cursor"] is None
        assert second["items"][0]["text"] == "建议2"


async def test_worklist_lines_and_recommendations_written_before_the_cursor_get_their_sort_keys(
    supervision_service,
):
    h = supervision_service
    files = h.sv.files
    await assigned(files, h.clock, case_id="c1")
    await files.worklist.update_many({}, {"$unset": {"due_key": ""}})
    await files.worklist.insert_one({"_id": "T1-GOV|old", "unit": "T1-GOV", "case_id": "old", "due_ts": None})
    await files.recommendations.insert_one({"_id": "r-old", "unit": "T1-GOV", "at": h.clock.now()})
    assert await files.backfill_list_keys() == 4  # two lines of c1, the old line, the recommendation
    assert await files.backfill_list_keys() == 0
    keys = {d["case_id"]: d["due_key"] async for d in files.worklist.find({"unit": "T1-GOV"})}
    assert (
        keys["old"] == NO_DUE
        and keys["c1"] == (await files.worklist.find_one({"_id": "T1-GOV|c1"}))["due_ts"]
    )
    assert (await files.recommendations.find_one({"_id": "r-old"}))["at_ts"] > 0
