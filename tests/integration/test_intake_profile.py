"""The petitioner profile (信访人画像) and its data pool, in process on the real servers: a profile
joins the petitioner's cases (linked by ID number and phone), what other services said of them by
events, and a court record imported in a batch; it is opened with an audited reason an auditor reads;
the batch withdrawn, the record is gone; a role the profile policy does not name, a missing reason
and a bad import row are refused with the reason."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch_common import subjects
from dispatch_common.contracts import validate_event
from dispatch_common.envelope import make_event
from services.intake.domain.identity import with_check_digit
from tests.helpers import eventually, publish_as_ops
from tests.intake_support import IntakeHarness, start_intake

pytestmark = pytest.mark.integration

ID_NUMBER = with_check_digit("11010519800101123")
OTHER_ID = with_check_digit("11010519900202456")
PHONE = "13912345678"
AT = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
UNIT = {"code": "U-LABOUR", "name": "人社局", "type": "county_department"}


@pytest.fixture
async def harness(nats_url, mongodb_url, db_prefix, run_dir) -> AsyncIterator[IntakeHarness]:
    h = await start_intake(nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir)
    yield h
    await h.intake.runtime.stop()


async def publish(h: IntakeHarness, event_type: str, source: str, data: dict[str, Any]) -> None:
    """Publish another service's event as it would (checked against proto/ first)."""
    event = make_event(type=event_type, source=source, subject=data["case_id"], data=data).to_document()
    validate_event(event)
    settings = h.intake.runtime.settings
    await publish_as_ops(settings.nats_url, settings.run_dir, event)


async def later_life(h: IntakeHarness, case_id: str, case_no: str) -> None:
    """Routing places the case; supervision answers it and the petitioner rates the answer."""
    act = {
        "case_id": case_id,
        "case_no": case_no,
        "by": {"subject": "u1", "role": "unit_handler"},
        "at": AT.isoformat(),
    }
    await publish(
        h,
        subjects.CASE_ROUTED,
        "/dispatch/routing",
        {
            "case_id": case_id,
            "case_no": case_no,
            "jurisdiction": {"town": "990102001", "village": None, "grid": None, "source": "coordinates"},
            "category": {"code": "14", "subcode": "1401", "confidence": 0.9},
            "flags": [],
            "lead_unit": UNIT | {"role": "lead"},
            "assisting_units": [],
            "tier": "general",
            "queue": "auto",
            "explanation": ["test"],
            "package_version": "test",
        },
    )
    await publish(
        h,
        subjects.CASE_REPLIED,
        "/dispatch/supervision",
        act | {"status": "replied", "action": "reply", "result": "explained"},
    )
    await publish(
        h,
        subjects.CASE_FOLLOWED_UP,
        "/dispatch/supervision",
        act | {"status": "followed_up", "action": "follow_up", "rating": "dissatisfied"},
    )


async def submit(clerk, **fields: Any) -> dict[str, Any]:
    body = {"channel": "petition_visit", "people_count": 1, "text": "讨要拖欠工资三个月，老板不给"} | fields
    r = await clerk.post("/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


COURT_ROWS = [
    {
        "id_number": ID_NUMBER,
        "ref": "(2025)X0102民初123号",
        "date": "2025-11-20",
        "authority": "县人民法院",
        "summary": "劳动报酬纠纷，判决支付工资，联系电话13900001111",
    },
    {"id_number": OTHER_ID, "ref": "(2025)X0102民初124号", "date": "2025-11-21"},
]


async def test_a_profile_joins_a_court_record_and_is_opened_with_an_audited_reason(harness):
    h = harness
    async with (
        h.client("reception_clerk") as clerk,
        h.client("supervisor") as supervisor,
        h.client("auditor") as auditor,
        h.client("county_leader") as leader,
    ):
        petitioner = {"name": "张三", "phone": PHONE, "id_number": ID_NUMBER}
        first = await submit(clerk, petitioner=petitioner)
        # the same person comes back giving only the phone, with five neighbours: a group petition
        second = await submit(
            clerk,
            petitioner={"name": "张三", "phone": PHONE},
            people_count=6,
            representatives=[{"name": "王五"}],
        )
        await later_life(h, first["case_id"], first["case_no"])

        imported = await supervisor.post(
            "/v1/pool/batches",
            json={
                "source": "county-court",
                "kind": "court_judgment",
                "source_date": "2026-02-28",
                "use_note": "依法分类处理时参考；不得作为不予受理的理由",
                "rows": COURT_ROWS,
            },
        )
        assert imported.status_code == 201, imported.text
        batch = imported.json()
        assert batch["status"] == "active" and batch["facts"] == 2 and batch["version"] == 1
        stored = await h.intake.profiles.pool.facts.find({"batch_id": batch["batch_id"]}).to_list()
        assert ID_NUMBER not in str(stored) and "13900001111" not in str(stored)  # only hashes, masked text

        async def opened() -> dict[str, Any] | None:
            r = await clerk.get(f"/v1/cases/{second['case_id']}/profile", params={"reason": "接待重复来访"})
            assert r.status_code == 200, r.text
            body = r.json()
            lines = {line["case_id"]: line for line in body["cases"]}
            done = lines.get(first["case_id"], {}).get("rating") == "dissatisfied"
            return body if done and lines[first["case_id"]]["category"] else None

        profile = await eventually(opened, what="the profile showing the first case's later life")
        assert profile["petitioner"] == {
            "anonymous": False,
            "name": "张*",
            "phone": "139****5678",
            "id_number": None,
            "email": None,
            "postal_address": None,
        }
        assert profile["summary"]["cases"] == 2
        line = next(c for c in profile["cases"] if c["case_id"] == first["case_id"])
        assert line["reply"] == "explained" and line["lead_unit"] is None and line["category"] == "1401"
        assert profile["patterns"]["group_petitions"] == 1
        assert {"key": "1401", "count": 1} in profile["patterns"]["by_category"]
        [fact] = profile["facts"]  # the other person's judgment is not this petitioner's
        assert fact["ref"] == "(2025)X0102民初123号" and fact["source"] == "county-court"
        assert fact["use"].startswith("依法分类处理") and fact["kind_name"] == "法院裁判文书"
        assert "13900001111" not in fact["summary"]
        assert profile["sections"] == {"agents": [], "risk_entries": []}

        audit = await auditor.get(f"/v1/cases/{second['case_id']}/audit")
        assert audit.status_code == 200, audit.text
        [entry] = audit.json()["items"]
        assert (
            entry["fields"] == ["profile"]
            and entry["reason"] == "接待重复来访"
            and entry["role"] == "reception_clerk"
        )

        # withdrawn: the record leaves the profile, the batch stays with who withdrew it and why
        tag = imported.headers["ETag"]
        assert tag == f'"{batch["revision"]}"'
        withdrawal = {"batch_id": batch["batch_id"], "reason": "法院更正"}
        stale = await supervisor.post("/v1/pool/withdrawals", json=withdrawal, headers={"If-Match": '"1"'})
        assert stale.status_code == 412, stale.text
        gone = await supervisor.post("/v1/pool/withdrawals", json=withdrawal, headers={"If-Match": tag})
        assert gone.status_code == 200, gone.text
        assert gone.json()["status"] == "withdrawn" and gone.json()["withdrawal"]["reason"] == "法院更正"
        again = await supervisor.post("/v1/pool/withdrawals", json=withdrawal | {"reason": "再次"})
        assert again.status_code == 409
        after = await clerk.get(f"/v1/cases/{first['case_id']}/profile", params={"reason": "复核"})
        assert after.status_code == 200 and after.json()["facts"] == []
        listed = (await auditor.get("/v1/pool/batches")).json()["items"]
        assert [(b["batch_id"], b["status"]) for b in listed] == [(batch["batch_id"], "withdrawn")]

        # a role the authorization table does not name for profiles, and an opening without a reason
        refused = await leader.get(f"/v1/cases/{first['case_id']}/profile", params={"reason": "看看"})
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        unexplained = await clerk.get(f"/v1/cases/{first['case_id']}/profile")
        assert unexplained.status_code == 422
        assert unexplained.json()["errors"][0]["loc"] == ["query", "reason"]
        assert len((await auditor.get(f"/v1/cases/{first['case_id']}/audit")).json()["items"]) == 1


async def test_an_unmasked_profile_needs_the_capability_and_shows_the_clear_data(harness):
    async with harness.client("reception_clerk") as clerk, harness.client("supervisor") as supervisor:
        case = await submit(clerk, petitioner={"name": "李四", "phone": PHONE, "id_number": ID_NUMBER})
        r = await clerk.get(
            f"/v1/cases/{case['case_id']}/profile", params={"reason": "回电核实", "unmask": "true"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["petitioner"]["id_number"] == ID_NUMBER
        audit = await supervisor.get(f"/v1/cases/{case['case_id']}/audit")
        assert audit.json()["items"][0]["fields"] == ["profile", "id_number", "name", "phone"]


async def test_a_bad_row_refuses_the_whole_batch_with_its_row_and_field(harness):
    async with harness.client("supervisor") as supervisor, harness.client("reception_clerk") as clerk:
        csv_text = (
            "id_number,phone,ref,date,group\n"
            f"{ID_NUMBER},,退役001,2024-05-01,veteran\n"
            f"{ID_NUMBER[:-1]}0,,退役002,2024-05-01,veteran\n"
            ",,退役003,2024-13-01,veteran\n"
        )
        meta = {
            "source": "veterans-bureau",
            "kind": "special_group",
            "source_date": "2026-01-01",
            "use_note": "用于优抚关怀，不作他用",
        }
        r = await supervisor.post("/v1/pool/batches", json=meta | {"csv": csv_text})
        assert r.status_code == 422, r.text
        locs = {tuple(e["loc"]) for e in r.json()["errors"]}
        assert ("body", "csv", 2, "id_number") in locs and ("body", "csv", 3, "date") in locs
        assert (await supervisor.get("/v1/pool/batches")).json()["items"] == []  # nothing half-imported
        unknown = await supervisor.post("/v1/pool/batches", json=meta | {"kind": "tax", "csv": csv_text})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "kind"]
        assert (await clerk.post("/v1/pool/batches", json=meta | {"rows": []})).status_code == 403
