"""A confidential report (检举控告) against a town's officials, through the five running services.

The report names a village party secretary of 保合镇; it must reach only the county's discipline
inspection unit and the roles the county package names. Every read path of every service is tried
with the tokens of the accused town's government, police station, justice office, comprehensive
center, village committee and mediation committees (handler and leader of each, the committees'
mediators) and with the county-wide roles that do not read reports; each answer is checked for the
case. The events on NATS are validated against proto/ and searched for the text, the place and the
reporter. `test_every_read_path...` prints the count of paths tried and of leaks.
"""

import asyncio
import json
from typing import Any

import httpx
import pytest

from devtools.nats_auth import connect_options
from tests.e2e.conftest import Api
from tests.e2e.flow import wait_for

pytestmark = pytest.mark.e2e

TEXT = "前进村的村支书收了钱才给办低保，还把低保名额给了自己家亲戚，我家条件最差却评不上。"
ADDRESS = "保合镇前进村村委会"
LON, LAT = 111.672094, 40.891194  # the village committee's point in the gazetteer
NAME, PHONE = "周九", "13900001111"
TOWN, VILLAGE = "990102101", "990102101001"
DISCIPLINE = (
    "990102-JWJW"  # the county's discipline inspection (纪委监委): units.json, type discipline_inspection
)
ACCUSED_UNITS = (
    f"{TOWN}-GOV",
    f"{TOWN}-PCS",
    f"{TOWN}-SFS",
    f"{TOWN}-ZZZX",
    f"{TOWN}-TJW",
    f"{VILLAGE}-WYH",
    f"{VILLAGE}-TJW",
)
COMMITTEES = (f"{TOWN}-TJW", f"{VILLAGE}-TJW")
NON_READER_ROLES = ("dispatcher", "county_leader", "reception_clerk")
# What names or places the reporter: none of it may leave intake in an event.
TELLTALES = (
    TEXT[:8],
    "村支书",
    "前进村",
    "保合",
    ADDRESS,
    NAME,
    PHONE,
    "139****1111",
    "周*",
    VILLAGE,
    str(LON),
    str(LAT),
)


def _accused(as_role) -> dict[str, Api]:
    callers = {
        f"{role} {unit}": as_role(role, unit)
        for unit in ACCUSED_UNITS
        for role in ("unit_handler", "unit_leader")
    }
    callers |= {f"mediator {unit}": as_role("mediator", unit) for unit in COMMITTEES}
    callers |= {role: as_role(role) for role in NON_READER_ROLES}
    return callers


@pytest.fixture(scope="module")
def supervisor(as_role) -> Api:
    return as_role("supervisor")


@pytest.fixture(scope="module")
def report(clerk, supervisor) -> dict[str, Any]:
    """The report, registered by the reception window and assigned."""
    body = {
        "channel": "hotline_12345",
        "text": TEXT,
        "address": ADDRESS,
        "lon": LON,
        "lat": LAT,
        "petitioner": {"name": NAME, "phone": PHONE},
    }
    created = clerk.post("intake", "/v1/cases", json=body)
    assert created.status_code == 201, created.text

    def assigned() -> dict[str, Any] | None:
        r = supervisor.get("supervision", f"/v1/cases/{created.json()['case_id']}")
        return r.json() if r.status_code == 200 and r.json()["status"] == "assigned" else None

    case = wait_for(assigned, what="the report to be assigned")
    return {**created.json(), "file": case}


def _notices(supervisor: Api, case_id: str, *kinds: str) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        items = supervisor.get("notify", "/v1/notifications", params={"case_id": case_id}).json()["items"]
        return items if {n["kind"] for n in items} >= set(kinds) else None

    return wait_for(probe, what=f"notices {kinds}")


def test_the_report_goes_to_the_discipline_inspection_unit_and_nowhere_near_the_place(
    report, supervisor, as_role
):
    case = report["file"]
    assert case["lead_unit"]["code"] == DISCIPLINE and case["assisting_units"] == []
    assert case["flags"] == [] and not any(case["jurisdiction"][k] for k in ("town", "village", "grid"))
    assert case["category"]["code"] == "16"
    route = supervisor.get("routing", f"/v1/routes/{report['case_id']}").json()
    assert route["confidential"] is True and route["queue"] == "auto"
    assert not any(t in json.dumps(route, ensure_ascii=False) for t in TELLTALES)
    # the unit that takes it reads the text and the reporter through intake's audited read
    inspector = as_role("unit_handler", DISCIPLINE)

    # intake grants the read when it hears the assignment itself, which may come after supervision's
    def read() -> httpx.Response | None:
        unmasked = {"unmask": True, "reason": "核查"}
        r = inspector.get("intake", f"/v1/cases/{report['case_id']}", params=unmasked)
        return r if r.status_code == 200 else None

    registration = wait_for(read, what="intake to let the assigned unit read the report")
    assert (
        registration.json()["text_original"] == TEXT and registration.json()["petitioner"]["phone"] == PHONE
    )
    assert inspector.get("supervision", f"/v1/cases/{report['case_id']}").status_code == 200
    # no mediation is opened, and none can be asked for
    dispatcher = as_role("dispatcher")
    assert (
        dispatcher.get("mediation", "/v1/mediations", params={"case_id": report["case_id"]}).json()["items"]
        == []
    )
    assert (
        dispatcher.post("mediation", "/v1/mediations", json={"case_id": report["case_id"]}).status_code == 404
    )


def test_the_reporter_is_told_in_the_inbox_only(report, supervisor):
    notices = _notices(supervisor, report["case_id"], "acceptance", "assignment")
    mine = [n for n in notices if n["audience"] == "petitioner"]
    assert {n["kind"] for n in mine} == {"acceptance", "assignment"}
    assert all(n["channel"] == "inbox" and "检举控告" in n["channel_reason"] for n in mine)
    others = [n for n in notices if n["audience"] != "petitioner"]
    assert others and all(DISCIPLINE in n["recipient"] for n in others)  # no group, town or webhook
    assert not any(t in json.dumps(notices, ensure_ascii=False) for t in TELLTALES)


def _leaks(api: Api, report: dict[str, Any], notice_ids: list[str]) -> tuple[int, list[str]]:
    """Try every read path of the platform as one caller; the paths tried and those that showed the case."""
    case_id, case_no = report["case_id"], report["case_no"]
    mentions = (case_id, case_no, TEXT[:8])
    checks: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
        ("GET", "intake", f"/v1/cases/{case_id}", None, "case"),
        ("GET", "intake", f"/v1/cases/{case_id}?unmask=true&reason=x", None, "case"),
        ("GET", "intake", f"/v1/cases/{case_id}/petitioner-history", None, "case"),
        ("GET", "intake", "/v1/screening/queue?limit=200", None, "list"),
        ("GET", "routing", f"/v1/routes/{case_id}", None, "case"),
        ("GET", "routing", "/v1/disputes?limit=200", None, "list"),
        ("GET", "routing", "/v1/routes/manual?limit=200", None, "list"),
        ("POST", "routing", f"/v1/routes/{case_id}/return", {"reason": "不属于本单位"}, "case"),
        ("GET", "supervision", f"/v1/cases/{case_id}", None, "case"),
        ("GET", "supervision", f"/v1/cases/{case_id}/reply-document", None, "case"),
        ("POST", "supervision", f"/v1/cases/{case_id}/sign", {}, "case"),
        ("POST", "supervision", f"/v1/cases/{case_id}/progress", {"note": "查看"}, "case"),
        ("GET", "supervision", "/v1/worklist?open=false&limit=200", None, "list"),
        ("GET", "supervision", f"/v1/worklist?unit={DISCIPLINE}&open=false&limit=200", None, "list"),
        ("GET", "supervision", "/v1/inspection", None, "list"),
        ("GET", "supervision", "/v1/warnings?limit=200", None, "list"),
        ("GET", "notify", f"/v1/notifications?case_id={case_id}", None, "list"),
        ("GET", "notify", "/v1/notifications?status=sent&limit=200", None, "list"),
        ("GET", "notify", "/v1/inbox?limit=200", None, "list"),
        ("GET", "notify", f"/v1/inbox?case_id={case_id}", None, "list"),
        ("GET", "mediation", f"/v1/mediations?case_id={case_id}", None, "list"),
        ("GET", "mediation", f"/v1/referrals?case_id={case_id}", None, "list"),
        ("POST", "mediation", "/v1/mediations", {"case_id": case_id}, "case"),
    ]
    for nid in notice_ids:
        checks.append(("GET", "notify", f"/v1/notifications/{nid}", None, "case"))
        checks.append(("GET", "notify", f"/v1/notifications/{nid}/document", None, "case"))
    for group_by in ("unit", "town", "category", "tier", "period"):
        checks.append(("GET", "supervision", f"/v1/kpis?group_by={group_by}", None, "figures"))
    leaked: list[str] = []
    for method, service, path, body, kind in checks:
        r = api.client.request(method, api.url(service, path), json=body)
        # an error may echo the id the caller gave; a success showing the case is a leak
        shown = r.is_success and (kind == "case" or any(m in _shown(r) for m in mentions))
        if (
            kind == "figures"
            and r.is_success
            and any(row.get("unit") == DISCIPLINE for row in r.json()["rows"])
        ):
            shown = shown or _counts_reports(api)
        if shown:
            leaked.append(f"{method} {service}{path}: {r.status_code}")
    return len(checks), leaked


def _shown(r: httpx.Response) -> str:
    """A list's answer without the echo of the caller's own query (an inbox names its owner)."""
    body = r.json()
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "owners"}
    return json.dumps(body, ensure_ascii=False)


def _counts_reports(api: Api) -> bool:
    """Whether the caller's figures for the discipline-inspection unit count confidential reports: its
    count of assigned cases there is more than that of the cases it may see."""
    rows = api.get("supervision", "/v1/kpis", params={"group_by": "unit", "unit": DISCIPLINE}).json()["rows"]
    counted = sum(row["assigned"] for row in rows)
    return counted > 0 and counted > _visible_assigned(api)


def _visible_assigned(api: Api) -> int:
    items = api.get(
        "supervision", "/v1/worklist", params={"unit": DISCIPLINE, "open": "false", "limit": 200}
    ).json()["items"]
    return sum(1 for i in items if i["role"] == "lead" and not i.get("confidential"))


def test_every_read_path_with_the_accused_tokens_shows_nothing(stack, report, supervisor, as_role):
    notices = _notices(supervisor, report["case_id"], "acceptance", "assignment")
    notice_ids = [n["id"] for n in notices]
    key = (stack.run_dir / "keys" / "open311_api_key").read_text().strip()
    tried, leaks = 0, []
    for who, api in _accused(as_role).items():
        n, found = _leaks(api, report, notice_ids)
        tried += n
        leaks += [f"{who}: {path}" for path in found]
    # the Open311 door: no token, an app's key
    base = stack.url("intake") + "/open311/v2"
    for path in (f"/requests/{report['case_no']}.json", "/requests.json"):
        r = httpx.get(base + path, params={"api_key": key})
        tried += 1
        if r.is_success and (report["case_no"] in r.text or report["case_id"] in r.text):
            leaks.append(f"open311 {path}")
    print(f"\nconfidential report: {tried} read paths tried with the accused's tokens, {len(leaks)} leaks")
    assert leaks == [], leaks
    # the same checks do find it for a role that may read it: the walk can fail
    _, shown = _leaks(supervisor, report, notice_ids)
    assert len(shown) >= 10, shown
    assert _counts_reports(supervisor)


def test_the_events_carry_nothing_that_names_or_places_the_reporter(stack, report, supervisor):
    _notices(supervisor, report["case_id"], "assignment")

    async def read() -> list[dict[str, Any]]:
        import nats

        from tests.helpers import events_on

        nc = await nats.connect(stack.nats_url, **connect_options(stack.keys_dir, "ops"))
        try:
            return await events_on(nc, "dispatch.>")  # each validated against proto/ as it is read
        finally:
            await nc.drain()

    events = [e for e in asyncio.run(read()) if e.get("subject") == report["case_id"]]  # some name no case
    types = {e["type"] for e in events}
    assert {
        "dispatch.case.received",
        "dispatch.case.screened",
        "dispatch.case.routed",
        "dispatch.case.assigned",
    } <= types
    for event in events:
        dumped = json.dumps(event, ensure_ascii=False)
        assert not [t for t in TELLTALES if t in dumped], (event["type"], dumped)
        petitioner = event["data"].get("petitioner")
        if petitioner is not None:  # no masked name, phone or e-mail, no token: every field but one null
            assert petitioner["anonymous"] is False and petitioner.get("name_masked", "") is None
            assert [k for k, v in petitioner.items() if k != "anonymous" and v is not None] == []
    assert all(not e["data"].get("flags") for e in events if e["type"] == "dispatch.case.routed")


def test_each_read_is_audited_and_listed_for_the_auditor(report, supervisor, as_role):
    supervisor.get("supervision", f"/v1/cases/{report['case_id']}")
    as_role("unit_leader", DISCIPLINE).get("intake", f"/v1/cases/{report['case_id']}")
    as_role("unit_leader", f"{TOWN}-GOV").get("intake", f"/v1/cases/{report['case_id']}")  # refused: no read
    auditor = as_role("auditor")
    reads = auditor.get(
        "supervision", "/v1/audit/confidential-reads", params={"case_id": report["case_id"]}
    ).json()["items"]
    assert any(r["role"] == "supervisor" and r["what"] == "case file" for r in reads)
    assert all(r["unit"] not in ACCUSED_UNITS for r in reads)
    intake_reads = auditor.get(
        "intake", "/v1/audit/confidential-reads", params={"case_id": report["case_id"]}
    ).json()
    assert any(r["unit"] == DISCIPLINE for r in intake_reads["items"])
    assert as_role("dispatcher").get("intake", "/v1/audit/confidential-reads").status_code == 403


def test_a_case_made_confidential_at_manual_screening_leaked_nothing_before(stack, clerk, supervisor):
    text = "对红旗镇政府的处理意见不服，申请复查。"
    body = {
        "channel": "petition_letter",
        "text": text,
        "address": "红旗镇杏花村",
        "petitioner": {"name": NAME, "phone": PHONE},
    }
    created = clerk.post("intake", "/v1/cases", json=body).json()
    assert created["status"] == "screening"
    done = clerk.post(
        "intake",
        f"/v1/cases/{created['case_id']}/screening",
        json={"outcome": "accepted", "nature": "检举控告", "reason": "反映干部违纪问题，转纪检监察"},
    )
    assert done.status_code == 200, done.text

    def routed() -> dict[str, Any] | None:
        r = supervisor.get("supervision", f"/v1/cases/{created['case_id']}")
        return r.json() if r.status_code == 200 and r.json()["status"] == "assigned" else None

    case = wait_for(routed, what="the case screened by hand to be assigned")
    assert case["lead_unit"]["code"] == DISCIPLINE

    async def read() -> list[dict[str, Any]]:
        import nats

        from tests.helpers import events_on

        nc = await nats.connect(stack.nats_url, **connect_options(stack.keys_dir, "ops"))
        try:
            return await events_on(nc, "dispatch.case.>")
        finally:
            await nc.drain()

    events = [e for e in asyncio.run(read()) if e["subject"] == created["case_id"]]
    intake_events = [e for e in events if e["source"] == "/dispatch/intake"]
    assert [e["type"] for e in intake_events].count("dispatch.case.screened") == 2
    for event in intake_events:
        dumped = json.dumps(event, ensure_ascii=False)
        assert not [t for t in (text[:6], "杏花村", NAME, PHONE, "139****1111", "周*") if t in dumped], dumped
        assert event["data"]["withheld"] is True and event["data"]["petitioner"]["contact_token"] is None
    # the clerk who screened it may no longer read it: a report is its readers' alone
    assert clerk.get("intake", f"/v1/cases/{created['case_id']}").status_code == 404
