"""Phone and ID numbers typed into a submission's free text: stored masked with the clear values
sealed aside, masked in every view and event that leaves intake, clear only through the audited
unmask. Intake in process on the real nats-server and the embedded MongoDB server."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dispatch_common import subjects
from dispatch_common.free_text import id_check_character
from services.intake.domain.models import normalize_text
from tests.helpers import eventually
from tests.intake_support import IntakeHarness, start_intake

pytestmark = pytest.mark.integration

ID_NUMBER = "15010219800307123"
ID_NUMBER += id_check_character(ID_NUMBER)
MOBILE, LANDLINE, OTHER_MOBILE = "13812345678", "0471-6612345", "15647112345"
TEXT = (
    f"我是本村村民，身份证{ID_NUMBER}，手机{MOBILE}。村口路灯坏了一个月没人修，"
    f"打过村委会电话{LANDLINE}也没人接，事项编号990102-2026-000123催过也没用。"
)
ADDRESS = f"幸福路88号3栋（联系人电话{OTHER_MOBILE}）"
CLEAR = (ID_NUMBER, MOBILE, LANDLINE, OTHER_MOBILE, "6612345")


def leaks(value: Any) -> list[str]:
    """The clear numbers a value (a document, an event, an answer) holds anywhere."""
    dumped = json.dumps(value, ensure_ascii=False, default=str)
    return [number for number in CLEAR if number in dumped]


@pytest.fixture
async def harness(nats_url, mongodb_url, db_prefix, run_dir) -> AsyncIterator[IntakeHarness]:
    h = await start_intake(nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir)
    yield h
    await h.intake.runtime.stop()


async def events_of(published: list[dict[str, Any]], case_id: str, *types: str) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        found = [e for e in published if e["subject"] == case_id and e["type"] in types]
        return found if len(found) >= len(types) else None

    return await eventually(probe, what=f"{types} of {case_id}")


async def test_numbers_in_the_free_text_are_stored_and_published_masked(harness, published):
    async with harness.client("reception_clerk") as clerk:
        answer = await clerk.post(
            "/v1/cases", json={"channel": "hotline_12345", "text": TEXT, "address": ADDRESS}
        )
    assert answer.status_code == 201, answer.text
    case_id = answer.json()["case_id"]

    stored = await harness.stored(case_id)
    sealed = stored.pop("free_text_pii")
    stored.pop("outbox", None)
    assert leaks(stored) == []
    assert stored["text"].startswith("我是本村村民,身份证150***********") and "138****5678" in stored["text"]
    assert "990102-2026-000123" in stored["text"]  # a case number is no phone number
    assert stored["address"] == "幸福路88号3栋(联系人电话156****2345)"  # normalized (NFKC), then masked
    assert stored["address_original"] == "幸福路88号3栋（联系人电话156****2345）"  # as given, masked
    assert sorted(sealed) == ["address", "address_original", "text", "text_original"]
    assert [v["kind"] for v in sealed["text"]] == ["id_number", "phone", "phone"]
    assert all(v["enc"].startswith("v2.") for values in sealed.values() for v in values)
    history = await harness.intake.history.col.find_one({"_id": case_id})
    assert leaks(history) == [] and "1385678" in history["text"]  # compared as masked (stars dropped)

    events = await events_of(published, case_id, subjects.CASE_RECEIVED, subjects.CASE_SCREENED)
    assert leaks(events) == []
    assert all("138****5678" in e["data"]["text"] for e in events)


async def test_views_are_masked_and_the_audited_unmask_shows_and_records_the_free_text(harness):
    async with harness.client("reception_clerk") as clerk:
        case_id = (
            await clerk.post("/v1/cases", json={"channel": "hotline_12345", "text": TEXT, "address": ADDRESS})
        ).json()["case_id"]
    async with harness.client("dispatcher") as dispatcher:
        masked = (await dispatcher.get(f"/v1/cases/{case_id}")).json()
        assert leaks(masked) == [] and "138****5678" in masked["text_original"]
        clear = (
            await dispatcher.get(f"/v1/cases/{case_id}", params={"unmask": "true", "reason": "回访核实"})
        ).json()
    assert clear["text_original"] == TEXT and clear["address"] == normalize_text(ADDRESS)
    assert clear["text"] == normalize_text(TEXT)
    async with harness.client("auditor") as auditor:
        audit = (await auditor.get(f"/v1/cases/{case_id}/audit")).json()["items"]
    assert [(a["role"], a["reason"], a["fields"]) for a in audit] == [
        ("dispatcher", "回访核实", ["address", "address_original", "text", "text_original"])
    ]


async def test_the_screening_queue_and_a_persons_screening_reason_are_masked(harness, published):
    text = f"对处理意见不服，申请复查。我的电话{MOBILE}。"
    async with harness.client("reception_clerk") as clerk:
        case_id = (await clerk.post("/v1/cases", json={"channel": "hotline_12345", "text": text})).json()[
            "case_id"
        ]
        queue = (await clerk.get("/v1/screening/queue")).json()["items"]
        assert [q["case_id"] for q in queue] == [case_id] and leaks(queue) == []
        decided = await clerk.post(
            f"/v1/cases/{case_id}/screening",
            json={"outcome": "accepted", "reason": f"已电话{MOBILE}核实，受理复查申请。"},
        )
        assert decided.status_code == 200, decided.text
    events = await events_of(published, case_id, subjects.CASE_SCREENED, subjects.CASE_SCREENED)
    by_hand = [e for e in events if e["data"]["screened_by"] != "rules"]
    assert by_hand and by_hand[0]["data"]["reason"] == "已电话138****5678核实，受理复查申请。"
    assert leaks(events) == []
    async with harness.client("supervisor") as supervisor:
        clear = (
            await supervisor.get(f"/v1/cases/{case_id}", params={"unmask": "true", "reason": "复查"})
        ).json()
    assert clear["screening"]["reason"] == f"已电话{MOBILE}核实，受理复查申请。"
    assert clear["text"] == normalize_text(text)


async def test_open311_answers_show_the_free_text_masked(harness):
    form = {
        "api_key": harness.open311_key,
        "service_code": "0101",
        "description": f"小区门口垃圾三天没人清运，我的电话{MOBILE}",
        "address_string": f"新华街12号（电话{OTHER_MOBILE}）",
    }
    async with harness.client("reception_clerk") as anyone:
        services = (
            await anyone.get("/open311/v2/services.json", params={"api_key": harness.open311_key})
        ).json()
        form["service_code"] = services[0]["service_code"]
        created = await anyone.post("/open311/v2/requests.json", data=form)
        assert created.status_code == 201, created.text
        number = created.json()[0]["service_request_id"]
        one = (
            await anyone.get(f"/open311/v2/requests/{number}.json", params={"api_key": harness.open311_key})
        ).json()
        listed = (
            await anyone.get("/open311/v2/requests.json", params={"api_key": harness.open311_key})
        ).json()
    assert one[0]["description"] == "小区门口垃圾三天没人清运,我的电话138****5678"
    assert one[0]["address"] == "新华街12号(电话156****2345)"
    assert leaks(one) == [] and leaks(listed) == []
