"""The risk ledger (排查台账) over HTTP on the real servers, supervision in process with its clock moved.

A grid patrol's entry from 建账 to 销账 through its overdue reminder and the daily inspection; a
warning opening one entry; closings refused without evidence or by the owner or creator; the entry
that later became a case; the joint meeting's figures on seeded entries whose answers are known.
"""

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devtools.keys import issue_token
from dispatch_common import subjects
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from services.supervision import ledger_scan
from tests.supervision_cases import assigned

pytestmark = pytest.mark.integration

GEOGRAPHY = json.loads((DEFAULT_COUNTY_DIR / "geography.geojson").read_text(encoding="utf-8"))
AREAS = {f["properties"]["code"]: f["properties"] for f in GEOGRAPHY["features"]}
GRIDS = sorted(c for c, a in AREAS.items() if a["level"] == "grid")
GRID = GRIDS[0]
VILLAGE = AREAS[GRID]["parent"]
TOWN = AREAS[VILLAGE]["parent"]
OTHER_TOWN = next(c for c in sorted(AREAS) if AREAS[c]["parent"] == AREAS[TOWN]["parent"] and c != TOWN)
UNITS = json.loads((DEFAULT_COUNTY_DIR / "units.json").read_text(encoding="utf-8"))
OWNER = next(u["code"] for u in UNITS if u["jurisdiction"] == TOWN)
OTHER_UNIT = next(u["code"] for u in UNITS if u["jurisdiction"] != TOWN)


def client(h, role: str, *, unit: str | None = None, area: str | None = None, subject: str | None = None):
    token = issue_token(h.keys_dir, role=role, unit=unit, area=area, subject=subject)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=h.app),
        base_url="http://supervision",
        headers={"Authorization": f"Bearer {token}"},
    )


def entry(**over: Any) -> dict[str, Any]:
    body = {
        "kind": "dispute",
        "title": "邻里宅基地边界纠纷",
        "place": {"area": GRID},
        "parties": [
            {"role": "party", "name": "张三丰", "phone": "13800138000", "id_number": "110101199001011234"}
        ],
        "source": {"kind": "patrol", "ref": "网格巡查"},
        "risk_level": "high",
        "owner": {"unit": OWNER, "person": "李责任"},
        "measures": ["入户走访", "组织调解"],
    }
    return body | over


async def scan(h) -> int:
    return await ledger_scan.scan(h.sv.ledger)


async def test_a_patrol_entry_goes_from_opening_to_closing_through_its_overdue_reminder(supervision_service):
    h = supervision_service
    async with (
        client(h, "grid_worker", area=GRID, subject="grid-1") as grid,
        client(h, "unit_handler", unit=OWNER, area=TOWN, subject="town-1") as town,
        client(h, "unit_leader", unit=OWNER, area=TOWN, subject="town-lead") as town_leader,
        client(h, "supervisor", subject="sup-1") as supervisor,
    ):
        r = await grid.post("/v1/ledger/entries", json=entry())
        assert r.status_code == 201, r.text
        body, tag = r.json(), r.headers["ETag"]
        assert tag == '"1"' and body["status"] == "opened" and body["status_label"] == "建账"
        assert (body["place"]["town"], body["place"]["village"], body["place"]["grid"]) == (
            TOWN,
            VILLAGE,
            GRID,
        )
        assert body["parties"] == [
            {
                "role": "party",
                "name_masked": "张**",
                "phone_masked": "138****8000",
                "id_number_masked": "110***********1234",
            }
        ]
        assert "张三丰" not in r.text and "13800138000" not in r.text
        stored = await h.sv.ledger.book.get(body["entry_id"])
        assert "张三丰" not in json.dumps(stored, default=str) and stored["parties"][0]["name_enc"]
        assert body["due_at"] > body["opened_at"]
        entry_id = body["entry_id"]

        # the grid worker lists its own, the town's unit sees its area's entry; a unit elsewhere does not
        assert [e["entry_id"] for e in (await grid.get("/v1/ledger/entries")).json()["items"]] == [entry_id]
        assert [e["entry_id"] for e in (await town.get("/v1/ledger/entries")).json()["items"]] == [entry_id]
        assert (await town.get(f"/v1/ledger/entries/{entry_id}")).status_code == 200
        async with client(h, "unit_handler", unit=OTHER_UNIT, subject="far") as far:
            assert (await far.get(f"/v1/ledger/entries/{entry_id}")).status_code == 404
            assert (await far.get("/v1/ledger/entries")).json()["items"] == []

        assert await scan(h) == 0
        h.clock.advance(timedelta(days=6))  # a high entry has 7 days: inside the warning before the limit
        assert await scan(h) == 1
        h.clock.advance(timedelta(days=1, hours=1))  # past the limit: overdue and the reminder (提醒函)
        assert await scan(h) == 2
        assert await scan(h) == 0
        stored = await h.sv.ledger.book.get(entry_id)
        owed = [e["event"]["type"] for e in stored["outbox"]]
        assert owed.count(subjects.LEDGER_DEADLINE_WARNING) == 1 and owed.count(subjects.LEDGER_OVERDUE) == 1
        assert [e["level"] for e in stored["escalations"]] == ["reminder"]
        overdue = (await supervisor.get("/v1/ledger/entries", params={"overdue": "true"})).json()["items"]
        assert [e["entry_id"] for e in overdue] == [entry_id]

        # the day's inspection lists it
        r = await supervisor.get("/v1/inspection")
        assert r.status_code == 200, r.text
        assert r.json()["counts"]["ledger"] == 1
        assert [i["entry_id"] for i in r.json()["ledger"]] == [entry_id]

        # work on it, from the version read
        r = await town.post(
            f"/v1/ledger/entries/{entry_id}/progress", json={"note": "已走访"}, headers={"If-Match": tag}
        )
        assert r.status_code == 412
        current = (await town.get(f"/v1/ledger/entries/{entry_id}")).headers["ETag"]
        r = await town.post(
            f"/v1/ledger/entries/{entry_id}/progress",
            json={"note": "双方达成初步意向", "measures": ["签订协议"]},
            headers={"If-Match": current},
        )
        assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text
        assert r.json()["measures"][-1] == "签订协议"

        # closing needs evidence: field-level 422
        r = await town.post(
            f"/v1/ledger/entries/{entry_id}/close-request", json={"note": "已化解", "evidence": []}
        )
        assert r.status_code == 422
        assert any(e["loc"][-1] == "evidence" for e in r.json()["errors"])
        evidence = [{"description": "调解协议书", "ref": "docs/2026/001.pdf"}]
        r = await town.post(
            f"/v1/ledger/entries/{entry_id}/close-request", json={"note": "已化解", "evidence": evidence}
        )
        assert r.status_code == 200 and r.json()["status"] == "close_requested", r.text

        # the owner unit may not close its own entry
        r = await town_leader.post(f"/v1/ledger/entries/{entry_id}/review", json={"decision": "approve"})
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        r = await supervisor.post(f"/v1/ledger/entries/{entry_id}/review", json={"decision": "return"})
        assert r.status_code == 422  # a return says why
        r = await supervisor.post(
            f"/v1/ledger/entries/{entry_id}/review", json={"decision": "approve", "note": "核实无误"}
        )
        assert r.status_code == 200, r.text
        closed = r.json()
        assert closed["status"] == "closed" and closed["status_label"] == "销账"
        assert closed["closed_on_time"] is False and closed["reviewed_by"]["subject"] == "sup-1"
        assert [s["action"] for s in closed["history"]] == ["open", "progress", "request_close", "approve"]
        stored = await h.sv.ledger.book.get(entry_id)
        assert stored["next_alarm_ts"] is None and stored["overdue_open"] is False
        assert subjects.LEDGER_CLOSED in [e["event"]["type"] for e in stored["outbox"]]
        h.clock.advance(timedelta(days=30))
        assert await scan(h) == 0  # a closed entry climbs no further
        r = await supervisor.post(f"/v1/ledger/entries/{entry_id}/review", json={"decision": "approve"})
        assert r.status_code == 409


async def test_the_creator_may_not_review_and_a_return_sends_the_entry_back(supervision_service):
    h = supervision_service
    async with (
        client(h, "dispatcher", subject="disp-1") as dispatcher,
        client(h, "supervisor", subject="s") as sup,
    ):
        r = await dispatcher.post(
            "/v1/ledger/entries", json=entry(source={"kind": "campaign", "ref": "春季排查"})
        )
        assert r.status_code == 201, r.text
        entry_id = r.json()["entry_id"]
        evidence = [{"description": "现场照片"}]
        r = await dispatcher.post(
            f"/v1/ledger/entries/{entry_id}/close-request", json={"note": "x", "evidence": evidence}
        )
        assert r.status_code == 200, r.text
        r = await dispatcher.post(f"/v1/ledger/entries/{entry_id}/review", json={"decision": "approve"})
        assert r.status_code == 403
        r = await sup.post(
            f"/v1/ledger/entries/{entry_id}/review", json={"decision": "return", "note": "证据不足"}
        )
        assert (
            r.status_code == 200 and r.json()["status"] == "in_progress" and r.json()["close_request"] is None
        )


async def test_bad_input_is_refused_field_by_field(supervision_service):
    h = supervision_service
    async with client(h, "dispatcher") as dispatcher:
        cases = [
            (entry(place={"area": "000000"}), ["body", "place"]),
            (entry(owner={"unit": "NO-SUCH", "person": "x"}), ["body", "owner", "unit"]),
            (entry(kind="volcano"), ["body", "kind"]),
            (entry(source={"kind": "warning", "ref": "no-such"}), ["body", "source", "ref"]),
            (entry(place={"address": "月球背面"}), ["body", "place"]),
        ]
        for body, loc in cases:
            r = await dispatcher.post("/v1/ledger/entries", json=body)
            assert r.status_code == 422, (loc, r.text)
            assert [e["loc"] for e in r.json()["errors"]] == [loc]
        r = await dispatcher.post(
            "/v1/ledger/entries", json=entry(place={"address": AREAS[VILLAGE]["name"] + "东头"})
        )
        assert r.status_code == 201 and r.json()["place"]["village"] == VILLAGE, r.text


async def test_a_cluster_warning_opens_one_entry_placed_where_the_cases_are(supervision_service):
    h = supervision_service
    files, clock, warnings = h.sv.files, h.clock, h.sv.warnings
    jurisdiction = {"town": TOWN, "village": VILLAGE, "grid": GRID}
    for i in range(warnings.policy.cluster.threshold):
        doc = await assigned(files, clock, case_id=f"w{i}", jurisdiction=jurisdiction)
        raised = await warnings.on_assigned(doc, clock.now())
    assert raised
    [warning] = [w async for w in warnings.warnings.find({"kind": "cluster"})]
    async with client(h, "dispatcher") as dispatcher:
        body = entry(source={"kind": "warning", "ref": warning["_id"]})
        del body["place"]
        r = await dispatcher.post("/v1/ledger/entries", json=body)
        assert r.status_code == 201, r.text
        opened = r.json()
        assert opened["place"]["village"] == VILLAGE and opened["source"] == {
            "kind": "warning",
            "ref": warning["_id"],
        }
        assert [c["case_id"] for c in opened["cases"]] == [warning["case_id"]] and opened[
            "became_case"
        ] is False
        again = await dispatcher.post("/v1/ledger/entries", json=body)
        assert again.status_code == 409 and again.json()["code"] == "already_opened"
        r = await dispatcher.get(f"/v1/cases/{warning['case_id']}/ledger-entries")
        assert [e["entry_id"] for e in r.json()["items"]] == [opened["entry_id"]]


async def test_the_joint_meetings_figures_on_seeded_entries(supervision_service):
    """Five entries with known answers: two in TOWN (one closed on time, one closed late), three in
    OTHER_TOWN (one open past its limit, one open in time, one that later became a case)."""
    h = supervision_service
    clock = h.clock
    start = clock.now()
    async with client(h, "dispatcher", subject="d") as d, client(h, "supervisor", subject="s") as s:

        async def opened(area: str, kind: str, level: str) -> str:
            r = await d.post(
                "/v1/ledger/entries", json=entry(place={"area": area}, kind=kind, risk_level=level)
            )
            assert r.status_code == 201, r.text
            return r.json()["entry_id"]

        async def close(entry_id: str) -> None:
            r = await d.post(
                f"/v1/ledger/entries/{entry_id}/close-request",
                json={"note": "ok", "evidence": [{"description": "记录"}]},
            )
            assert r.status_code == 200, r.text
            assert (
                await s.post(f"/v1/ledger/entries/{entry_id}/review", json={"decision": "approve"})
            ).status_code == 200

        on_time = await opened(TOWN, "dispute", "low")  # 30 days
        late = await opened(TOWN, "hazard", "critical")  # 72 hours
        past = await opened(OTHER_TOWN, "hazard", "high")  # 7 days
        await opened(OTHER_TOWN, "risk_point", "low")  # open, within its 30 days
        became = await opened(OTHER_TOWN, "dispute", "medium")  # 15 days
        clock.advance(timedelta(days=5))
        await close(on_time)
        await close(late)
        await assigned(h.sv.files, clock, case_id="later")  # received after the entry was opened
        r = await d.post(f"/v1/ledger/entries/{became}/cases", json={"case_id": "later"})
        assert r.status_code == 200 and r.json()["became_case"] is True, r.text
        clock.advance(timedelta(days=5))  # day 10: `past` (7 days) is overdue, `in_time` (30) is not
        assert (await d.post(f"/v1/ledger/entries/{past}/cases", json={"case_id": "nope"})).status_code == 422

        r = await s.get("/v1/ledger/figures", params={"group_by": "town"})
        assert r.status_code == 200, r.text
        rows = {row["key"]: row for row in r.json()["rows"]}
        assert (rows[TOWN]["opened"], rows[TOWN]["closed"], rows[TOWN]["closed_on_time"]) == (2, 2, 1)
        assert rows[TOWN]["on_time_rate"] == 0.5
        other = rows[OTHER_TOWN]
        assert (other["opened"], other["open"], other["overdue_open"], other["became_case"]) == (3, 3, 1, 1)
        total = r.json()["total"]
        assert (total["opened"], total["closed_on_time"], total["became_case"]) == (5, 1, 1)
        kinds = {
            row["key"]: row["opened"]
            for row in (await s.get("/v1/ledger/figures", params={"group_by": "kind"})).json()["rows"]
        }
        assert kinds == {"dispute": 2, "hazard": 2, "risk_point": 1}
        levels = (await s.get("/v1/ledger/figures", params={"group_by": "level"})).json()["rows"]
        assert {row["key"]: row["opened"] for row in levels} == {
            "low": 2,
            "critical": 1,
            "high": 1,
            "medium": 1,
        }
        ages = (await s.get("/v1/ledger/figures", params={"group_by": "age"})).json()["rows"]
        assert {row["key"]: row["opened"] for row in ages} == {"0-7d": 2, "8-30d": 3}
        day = (start + timedelta(days=1)).astimezone(h.sv.keeper.timezone).date().isoformat()
        later = (await s.get("/v1/ledger/figures", params={"start": day})).json()
        assert later["total"]["opened"] == 0
        assert (await d.get("/v1/cases/later/ledger-entries")).json()["items"][0]["entry_id"] == became
