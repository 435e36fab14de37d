"""Intake through the running platform: numbering, retries, screening, links, privacy, other doors."""

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devtools.keys import issue_token
from services.intake.domain.identity import with_check_digit
from tests.e2e.conftest import Api
from tests.e2e.flow import submission, wait_for

pytestmark = pytest.mark.e2e

ID_NUMBER = with_check_digit("11010519800101123")


def body(text: str = "小区路灯坏了一个月没人修，晚上出行很不安全。", **extra) -> dict:
    return {"channel": "hotline_12345", "text": text, **extra}


def test_case_numbers_are_unique_and_sequential_under_concurrent_submissions(clerk):
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(
                lambda i: clerk.post("intake", "/v1/cases", json=body(f"第{i}号路灯不亮了。")), range(40)
            )
        )
    assert all(r.status_code == 201 for r in results)
    numbers = sorted(int(r.json()["case_no"].rsplit("-", 1)[1]) for r in results)
    assert numbers == list(range(numbers[0], numbers[0] + 40))
    prefix = {r.json()["case_no"].rsplit("-", 1)[0] for r in results}
    assert len(prefix) == 1 and prefix.pop().startswith("990102-")


def test_an_idempotency_key_returns_the_same_case_and_refuses_a_different_request(clerk):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = clerk.post("intake", "/v1/cases", json=body(), headers=key)
    again = clerk.post("intake", "/v1/cases", json=body(), headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert (
        again.json()["case_id"] == first.json()["case_id"] and again.headers["Idempotent-Replayed"] == "true"
    )
    other = clerk.post("intake", "/v1/cases", json=body("完全不同的诉求：噪音扰民。"), headers=key)
    assert other.status_code == 409


def test_an_external_reference_registers_once_and_only_its_own_system_may_claim_it(stack, clerk):
    hotline = Api(stack, issue_token(stack.run_dir / "keys", role="external_system", system="hotline-12345"))
    police = Api(stack, issue_token(stack.run_dir / "keys", role="external_system", system="police-110"))
    ref = {"system": "hotline-12345", "id": str(uuid.uuid4())}
    first = hotline.post("intake", "/v1/cases", json=body(external_ref=ref))
    again = hotline.post("intake", "/v1/cases", json=body(external_ref=ref))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["case_id"] == first.json()["case_id"]
    for stranger in (police, clerk):  # another system, or staff: no claim on the hotline's reference
        claimed = stranger.post("intake", "/v1/cases", json=body(external_ref=ref))
        assert claimed.status_code == 403 and first.json()["case_no"] not in claimed.text


def test_personal_data_is_masked_and_every_clear_read_is_audited(stack, clerk, dispatcher, as_role):
    created = clerk.post(
        "intake",
        "/v1/cases",
        json=body(petitioner={"name": "赵六", "phone": "13700001111", "id_number": ID_NUMBER}),
    ).json()
    masked = dispatcher.get("intake", f"/v1/cases/{created['case_id']}").json()
    assert masked["petitioner"] == {
        "anonymous": False,
        "name": "赵*",
        "phone": "137****1111",
        "id_number": ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:],
        "email": None,
        "postal_address": None,
    }
    assert as_role("auditor").get("intake", f"/v1/cases/{created['case_id']}?unmask=true").status_code == 403
    unexplained = dispatcher.get("intake", f"/v1/cases/{created['case_id']}", params={"unmask": "true"})
    assert unexplained.status_code == 422 and "reason" in unexplained.text
    clear = dispatcher.get(
        "intake", f"/v1/cases/{created['case_id']}", params={"unmask": "true", "reason": "回访核实"}
    ).json()
    assert clear["petitioner"]["phone"] == "13700001111" and clear["petitioner"]["id_number"] == ID_NUMBER
    audit = as_role("auditor").get("intake", f"/v1/cases/{created['case_id']}/audit").json()["items"]
    assert [(a["role"], a["reason"], sorted(a["fields"])) for a in audit] == [
        ("dispatcher", "回访核实", ["id_number", "name", "phone"])
    ]

    async def stream_text() -> str:
        import nats

        from tests.helpers import stream_messages

        nc = await nats.connect(**stack.nats_options())
        try:
            return "".join(b.decode() for _, b in await stream_messages(nc, "DISPATCH", "dispatch.case.>"))
        finally:
            await nc.drain()

    text = asyncio.run(stream_text())
    assert "13700001111" not in text and ID_NUMBER not in text and "赵六" not in text


def test_screening_outcomes_reach_the_case_file(clerk, dispatcher, samples):
    court = next(s for s in samples if "legal_redirect" in s["expect"]["flags"])
    redirected = clerk.post("intake", "/v1/cases", json=submission(court, petitioner={"name": "钱七"})).json()
    assert redirected["status"] == "redirected"
    emergency = clerk.post("intake", "/v1/cases", json=body("楼下饭店着火了，火很大，快来人！")).json()
    assert emergency["status"] == "transferred"
    for created, status in ((redirected, "redirected"), (emergency, "transferred")):
        case = wait_for(
            lambda c=created, s=status: _file_with_status(dispatcher, c["case_id"], s),
            what=f"case file {status}",
        )
        assert case["lead_unit"] is None
        assert dispatcher.get("routing", f"/v1/routes/{created['case_id']}").status_code == 404
    intake_view = dispatcher.get("intake", f"/v1/cases/{emergency['case_id']}").json()
    assert intake_view["screening"]["transfer_to"] == "119"


def _file_with_status(api, case_id, status):
    r = api.get("supervision", f"/v1/cases/{case_id}")
    return r.json() if r.status_code == 200 and r.json()["status"] == status else None


def test_a_case_too_thin_to_screen_waits_for_a_person_then_goes_on(clerk, dispatcher):
    created = clerk.post("intake", "/v1/cases", json=body("啊？")).json()
    assert created["status"] == "screening"
    queue = dispatcher.get("intake", "/v1/screening/queue", params={"limit": 200}).json()["items"]
    assert created["case_id"] in {c["case_id"] for c in queue}
    decided = dispatcher.post(
        "intake",
        f"/v1/cases/{created['case_id']}/screening",
        json={"outcome": "not_accepted", "reason": "诉求不明确，已电话告知补充"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "not_accepted"
    twice = dispatcher.post(
        "intake", f"/v1/cases/{created['case_id']}/screening", json={"outcome": "accepted", "reason": "x"}
    )
    assert twice.status_code == 409
    wait_for(
        lambda: _file_with_status(dispatcher, created["case_id"], "not_accepted"), what="refusal on file"
    )


def test_repeats_of_a_petitioner_and_incidents_at_a_place_are_linked(clerk, dispatcher):
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    text = "我家楼下的烧烤店油烟很大，每天晚上熏得没法开窗，希望有关部门管一管。"
    first = clerk.post("intake", "/v1/cases", json=body(text, petitioner={"phone": phone})).json()
    again = clerk.post(
        "intake",
        "/v1/cases",
        json=body("楼下烧烤店油烟太大了，晚上熏得不能开窗，请管一管。", petitioner={"phone": phone}),
    ).json()
    links = dispatcher.get("intake", f"/v1/cases/{again['case_id']}").json()["links"]
    assert links["repeat_of"]["case_id"] == first["case_id"]
    history = dispatcher.get("intake", f"/v1/cases/{again['case_id']}/petitioner-history").json()
    assert history["known"] and history["cases"] == 2 and history["repeats"] == 1

    spot = {"lon": 111.899424, "lat": 40.852573}
    a = clerk.post(
        "intake",
        "/v1/cases",
        json=body(
            "路口的井盖丢了，很危险，已经有人差点掉下去。", **spot, petitioner={"phone": "13500000001"}
        ),
    ).json()
    b = clerk.post(
        "intake",
        "/v1/cases",
        json=body("路口井盖没了，太危险了，赶紧来修。", **spot, petitioner={"phone": "13500000002"}),
    ).json()
    b_links = dispatcher.get("intake", f"/v1/cases/{b['case_id']}").json()["links"]
    assert b_links["incident_of"] is not None and a["case_id"] in json.dumps(b_links["incident_of"])
    assert b_links["repeat_of"] is None


def test_open311_services_submission_and_follow_up(stack, dispatcher):
    key = (stack.run_dir / "keys" / "open311_api_key").read_text().strip()
    base = stack.url("intake") + "/open311/v2"
    services = httpx.get(f"{base}/services.json").json()  # no key: the list is public
    code = services[0]["service_code"]
    assert {"service_code", "service_name", "group", "type"} <= set(services[0])
    created = httpx.post(
        f"{base}/requests.json",
        data={
            "api_key": key,
            "service_code": code,
            "description": "小区物业不作为，楼道堆满杂物没人清理。",
            "address_string": "城关街道幸福锦绣家园",
            "phone": "13812340000",
        },
    )
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    bad = httpx.post(
        f"{base}/requests.json",
        data={"api_key": key, "service_code": code, "description": "", "lat": "91", "long": "111"},
    )
    assert bad.status_code == 400 and {"code", "description"} <= set(bad.json()[0])

    def assigned():
        one = httpx.get(f"{base}/requests/{request_id}.json", params={"api_key": key}).json()[0]
        return one if one["agency_responsible"] else None

    one = wait_for(assigned, what="the Open311 view to learn the responsible agency")
    assert one["status"] == "open" and one["expected_datetime"] and one["service_code"] == code
    assert "13812340000" not in json.dumps(one)
    listed = httpx.get(
        f"{base}/requests.json", params={"api_key": key, "service_request_id": request_id}
    ).json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    open_ones = httpx.get(f"{base}/requests.json", params={"api_key": key, "status": "open"}).json()
    assert request_id in {r["service_request_id"] for r in open_ones}
    closed = httpx.get(f"{base}/requests.json", params={"api_key": key, "status": "closed"}).json()
    assert request_id not in {r["service_request_id"] for r in closed}
    # cases that came by other doors are not Open311's to read
    other = dispatcher.post("intake", "/v1/cases", json=body()).json()["case_no"]
    assert httpx.get(f"{base}/requests/{other}.json", params={"api_key": key}).status_code == 404


def test_screening_rules_reload_is_for_admins(as_role):
    assert as_role("dispatcher").post("intake", "/v1/admin/screening-rules/reload").status_code == 403
    r = as_role("admin").post("intake", "/v1/admin/screening-rules/reload")
    assert r.status_code == 200 and r.json()["version"]


def test_a_report_against_an_official_keeps_the_reporter_hidden(stack, clerk, dispatcher, as_role):
    created = clerk.post(
        "intake",
        "/v1/cases",
        json=body(
            "举报镇政府工作人员办事吃拿卡要，收了钱才给盖章。",
            petitioner={"name": "孙八", "phone": "13911112222"},
        ),
    ).json()
    case = as_role("supervisor").get("intake", f"/v1/cases/{created['case_id']}").json()
    assert case["confidential"] and case["screening"]["nature"] == "检举控告"
    # not for a dispatcher or a unit it is not assigned to: the same answer as for an absent case
    assert dispatcher.get("intake", f"/v1/cases/{created['case_id']}").status_code == 404
    assert as_role("unit_handler").get("intake", f"/v1/cases/{created['case_id']}").status_code == 404

    async def screened() -> dict:
        import nats

        from tests.helpers import events_on

        nc = await nats.connect(**stack.nats_options())
        try:
            events = await events_on(nc, "dispatch.case.screened")
        finally:
            await nc.drain()
        return next(e for e in events if e["subject"] == created["case_id"])

    event = asyncio.run(screened())["data"]
    assert event["confidential"] is True
    assert event["petitioner"]["name_masked"] is None and event["petitioner"]["phone_masked"] is None


def test_a_landline_given_with_and_without_its_dash_is_one_petitioner(clerk, dispatcher):
    number = f"{uuid.uuid4().int % 10**7:07d}"
    text = "小区门口的下水道堵了一个星期，污水漫到路上，希望尽快疏通。"
    first = clerk.post("intake", "/v1/cases", json=body(text, petitioner={"phone": f"0471-{number}"})).json()
    again = clerk.post("intake", "/v1/cases", json=body(text, petitioner={"phone": f"0471{number}"})).json()
    links = dispatcher.get("intake", f"/v1/cases/{again['case_id']}").json()["links"]
    assert links["repeat_of"]["case_id"] == first["case_id"]


def _id_number() -> str:
    return with_check_digit(f"15010219800101{uuid.uuid4().int % 1000:03d}")


def _phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


def _submit(clerk: Api, text: str, **petitioner: str) -> str:
    return clerk.post("intake", "/v1/cases", json=body(text, petitioner=petitioner)).json()["case_id"]


def _repeat_of(dispatcher: Api, case_id: str) -> str | None:
    link = dispatcher.get("intake", f"/v1/cases/{case_id}").json()["links"]["repeat_of"]
    return link and link["case_id"]


def test_an_id_number_given_once_and_only_the_phone_the_next_time_is_one_petitioner(clerk, dispatcher):
    phone, id_number = _phone(), _id_number()
    text = "村里自来水停了三天，一直没人来修，老人孩子喝水都成问题。"
    only_phone = _submit(clerk, text, phone=phone)
    both = _submit(clerk, text, phone=phone, id_number=id_number)
    again = _submit(clerk, text, phone=phone)
    # the case with both finds the earlier phone-only one; the next phone-only case finds the latest
    assert _repeat_of(dispatcher, both) == only_phone
    assert _repeat_of(dispatcher, again) == both
    history = dispatcher.get("intake", f"/v1/cases/{again}/petitioner-history").json()
    assert history["known"] and history["cases"] == 3 and history["repeats"] == 2


def test_a_phone_shared_by_two_id_numbers_makes_neither_a_repeat_of_the_other(clerk, dispatcher):
    phone = _phone()
    text = "家门口的路灯坏了半个月，晚上出门看不见路，请尽快修理。"
    mother = _submit(clerk, text, phone=phone, id_number=_id_number())
    son = _submit(clerk, text, phone=phone, id_number=_id_number())
    assert _repeat_of(dispatcher, son) is None  # another ID number: another person, whatever the phone
    assert _repeat_of(dispatcher, _submit(clerk, text, phone=phone)) is None  # the phone names nobody now
    assert _repeat_of(dispatcher, _submit(clerk, text, phone=phone, id_number=_id_number())) is None
    assert mother != son
