"""The records the authorization walk calls (tests/e2e/test_authorization.py): a platform seeded with
a case of known units and every kind of record an operation can name."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.keys import issue_token, unit_area
from devtools.stack import Stack
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api
from tests.e2e.flow import settled_case_file, submission, wait_for
from tests.e2e.test_mediation_flow import held_session

PORTAL, STRANGER = "petition-online", "another-system"  # an external system, and one that is not it


@dataclass
class World:
    """The seeded records and the units on them."""

    stack: Stack
    case: dict[str, Any]  # assigned to `lead` and answered
    lead: str
    other: str  # a unit of another town, on none of the records
    mediation: dict[str, Any]  # concluded with an agreement, by `organization`
    organization: str
    referral: dict[str, Any]  # received by `center`
    center: str
    report: dict[str, Any]  # a confidential report (检举控告), given to `inspection`
    inspection: str
    ledger_entry: str  # a risk-ledger entry in the case's place, owned by `lead` (docs/ledger.md)
    message: str  # an inbox message of `lead`
    mediator: str  # a mediator of `organization`
    mediated_lead: str  # the lead unit of the mediated case (a unit of the case asks for mediation)
    referred_lead: str  # the lead unit of the referred case
    organization_message: str  # an inbox message of `organization`
    portal_message: str  # a petitioner's letter in the inbox of a case the portal submitted
    session: dict[str, Any]  # a leader's reception session with `case` booked (docs/reception.md)
    document: str = ""  # a formal document (规范文书) notify archived with `case`
    replay: str = ""  # a what-if replay of routing (docs/replay.md)
    screening_replay: str = ""  # a what-if replay of intake's screening rules (docs/replay.md)


def api(stack: Stack, role: str, unit: str | None = None) -> Api:
    """A caller; an external system's `unit` is the system it is (its token's subject and `system`)."""
    keys = stack.run_dir / "keys"
    if role == "external_system":
        return Api(stack, issue_token(keys, role=role, subject=unit, system=unit))
    area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
    return Api(stack, issue_token(keys, role=role, unit=unit, area=area))


def _submitted(clerk: Api, dispatcher: Api, body: dict[str, Any]) -> dict[str, Any]:
    r = clerk.post("intake", "/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return settled_case_file(dispatcher, r.json()["case_id"], timeout=60)


def seed(stack: Stack) -> World:
    """Drive records through the platform as its users would."""
    clerk, dispatcher = api(stack, "reception_clerk"), api(stack, "dispatcher")
    supervisor = api(stack, "supervisor")
    import json

    samples = [
        json.loads(line)
        for line in (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    plain = next(s for s in samples if s["expect"].get("village") and not s["expect"]["flags"])
    case = _submitted(clerk, dispatcher, submission(plain))
    assert case["status"] == "assigned", case
    lead = case["lead_unit"]["code"]
    handler = api(stack, "unit_handler", lead)
    assert handler.post("supervision", f"/v1/cases/{case['case_id']}/sign", json={}).status_code == 200
    replied = handler.post(
        "supervision", f"/v1/cases/{case['case_id']}/reply", json={"result": "resolved", "text": "已处理完毕"}
    )
    assert replied.status_code == 200, replied.text
    recommended = supervisor.post(
        "supervision", f"/v1/units/{lead}/recommendations", json={"kind": "improve_work", "text": "改进工作"}
    )
    assert recommended.status_code == 201, recommended.text

    disputed = next(s for s in samples if s["expect"].get("village") and "mediation" in s["expect"]["flags"])
    mediated = _submitted(clerk, dispatcher, submission(disputed))

    def opened() -> dict[str, Any] | None:
        items = dispatcher.get("mediation", "/v1/mediations", params={"case_id": mediated["case_id"]})
        return (items.json()["items"] or [None])[0]

    mediation = wait_for(opened, what="the mediation of the dispute", timeout=60)
    organization = mediation["organization"]["code"]
    mediator = api(stack, "mediator", organization)
    mid = mediation["id"]
    parties = [
        {"role": "applicant", "name": "张三", "consent": True},
        {"role": "respondent", "name": "李四", "consent": True},
    ]
    assert mediator.post("mediation", f"/v1/mediations/{mid}/consent", json={"parties": parties}).is_success
    held_session(mediator, mid)
    terms = {
        "facts": "两户因排水沟堵塞发生口角",
        "terms": ["李四于十日内疏通排水沟"],
        "fulfilment_method": "自行疏通",
        "fulfilment_due": "2030-01-31",
    }
    agreed = mediator.post("mediation", f"/v1/mediations/{mid}/outcome", json={"result": "agreed", **terms})
    assert agreed.is_success, agreed.text
    mediators = dispatcher.get("mediation", "/v1/mediators", params={"organization": organization}).json()

    aid = next(s for s in samples if s["expect"].get("village") and "legal_aid" in s["expect"]["flags"])
    referred = _submitted(clerk, dispatcher, submission(aid))

    def referral() -> dict[str, Any] | None:
        items = dispatcher.get("mediation", "/v1/referrals", params={"case_id": referred["case_id"]})
        return next((r for r in items.json()["items"] if r["kind"] == "legal_aid"), None)

    made = wait_for(referral, what="the legal-aid referral", timeout=60)

    report_text = "我要举报我们村的村支书，他收了别人的钱才给办低保，优亲厚友，群众意见很大。"
    report = _submitted(  # a supervisor reads confidential reports; a dispatcher does not
        clerk,
        supervisor,
        {"channel": "hotline_12345", "text": report_text, "petitioner": {"anonymous": True}},
    )
    assert report["status"] == "assigned" and report["screening"]["nature"] == "检举控告", report

    def inbox() -> str | None:
        items = handler.get("notify", "/v1/inbox").json()["items"]
        return next((i["id"] for i in items if i["case_id"] == case["case_id"]), None)

    portal = api(stack, "external_system", PORTAL)
    submitted = portal.post(
        "intake",
        "/v1/cases",
        json={"channel": "hotline_12345", "text": "小区路灯坏了", "petitioner": {"anonymous": True}},
    )
    assert submitted.status_code == 201, submitted.text

    def letter() -> str | None:
        items = portal.get("notify", "/v1/inbox", params={"case_id": submitted.json()["case_id"]})
        return next((i["id"] for i in items.json().get("items", []) if i["has_document"]), None)

    def organization_inbox() -> str | None:
        items = mediator.get("notify", "/v1/inbox").json()["items"]
        return next((i["id"] for i in items if i["case_id"] == mediated["case_id"]), None)

    def document() -> str | None:
        items = dispatcher.get("notify", f"/v1/cases/{case['case_id']}/documents").json().get("items", [])
        return items[0]["id"] if items else None

    other = _a_unit_elsewhere(case, {lead, organization, made["receiving_unit"]["code"]})
    place = case["jurisdiction"]
    entry = dispatcher.post(
        "supervision",
        "/v1/ledger/entries",
        json={
            "kind": "dispute",
            "title": "排查发现的纠纷",
            "place": {"area": place.get("grid") or place.get("village") or place["town"]},
            "source": {"kind": "patrol"},
            "risk_level": "low",
            "owner": {"unit": lead, "person": "责任人"},
        },
    )
    assert entry.status_code == 201, entry.text
    period = {"from": "2026-01-01T00:00:00+08:00", "to": "2026-02-01T00:00:00+08:00"}
    replayed = api(stack, "admin").post("routing", "/v1/admin/replays", json=period)
    assert replayed.status_code == 202, replayed.text
    screened = api(stack, "admin").post("intake", "/v1/admin/screening-replays", json=period)
    assert screened.status_code == 202, screened.text
    return World(
        replay=replayed.json()["id"],
        screening_replay=screened.json()["id"],
        stack=stack,
        case=case,
        lead=lead,
        other=other,
        mediation=mediation,
        organization=organization,
        referral=made,
        center=made["receiving_unit"]["code"],
        report=report,
        inspection=report["lead_unit"]["code"],
        ledger_entry=entry.json()["entry_id"],
        message=wait_for(inbox, what="the unit's assignment notice"),
        mediator=mediators["items"][0]["id"],
        mediated_lead=mediated["lead_unit"]["code"],
        referred_lead=referred["lead_unit"]["code"],
        organization_message=wait_for(organization_inbox, what="the organization's notice"),
        portal_message=wait_for(letter, what="the letter in the petitioner's inbox"),
        session=_reception_session(stack, case),
        document=wait_for(document, what="a document of the case"),
    )


def _reception_session(stack: Stack, case: dict[str, Any]) -> dict[str, Any]:
    """A reception session with the case booked into it."""
    start = datetime.now(UTC) + timedelta(days=1)
    body = {
        "leader": {"id": "authz-leader", "name": "领导", "post": "县长"},
        "kind": "reception",
        "place": "县信访接待大厅",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "capacity": 5,
    }
    made = api(stack, "supervisor").post("supervision", "/v1/reception/sessions", json=body)
    assert made.status_code == 201, made.text
    url = f"/v1/reception/sessions/{made.json()['session_id']}/bookings"
    booked = api(stack, "reception_clerk").post("supervision", url, json={"case_id": case["case_id"]})
    assert booked.status_code == 200, booked.text
    return booked.json()


def _a_unit_elsewhere(case: dict[str, Any], taken: set[str]) -> str:
    import json

    town = case["jurisdiction"]["town"]
    units = json.loads((DEFAULT_COUNTY_DIR / "units.json").read_text(encoding="utf-8"))
    return next(
        u["code"]
        for u in units
        if u["type"] == "town_government" and u["jurisdiction"] != town and u["code"] not in taken
    )
