"""The authorization table against the running platform: every operation of every service's live
OpenAPI document, called as every role, by a unit on the record and by a unit that is not.

The platform is seeded with records of known units (a case assigned to a town's unit and answered,
a mediation concluded with an agreement, a legal-aid referral, a confidential report given to the
discipline inspection, a recommendation, a unit's inbox message). Each call names one of them. What
the call shows is compared with data/policy/authorization.yaml:

- a role the table does not name for the operation is refused (401/403);
- a role with the county's scope (or `any`) gets through, whoever's unit it is;
- a role with a narrower scope (area, unit, own) gets through on its own unit's record, and finds
  nothing on another unit's: `404` for one record, the record missing from a list.

"Gets through" means the authorization let the call reach the operation: an answer that is not 401,
403 or 404 (a mutation is sent an invalid body, so it is refused with 422 and changes nothing once it
is admitted). An operation missing from the table is refused to everyone, so it fails here too.
"""

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.keys import issue_token, unit_area
from devtools.stack import SERVICES, Stack
from dispatch_common.auth import Role
from dispatch_common.authz import Scope, load_table
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import settled_case_file, submission, wait_for
from tests.e2e.test_mediation_flow import held_session

pytestmark = pytest.mark.e2e

PROBE = {"__authorization_probe__": True}  # no operation's body takes it: an admitted call answers 422
PORTAL, STRANGER = "petition-online", "another-system"  # an external system, and one that is not it
OPEN = {"/healthz", "/readyz", "/metrics"}
NARROW = {Scope.AREA, Scope.UNIT, Scope.OWN}
DENIED, HIDDEN, ADMITTED = "denied", "hidden", "admitted"
# Lists whose scope filters what they show: the seeded record's key is in the body, or not.
LISTS = {
    ("supervision", "GET", "/v1/worklist"),
    ("supervision", "GET", "/v1/cases"),  # the staff search: a unit finds only the cases it may see
    ("supervision", "GET", "/v1/kpis"),
    ("supervision", "GET", "/v1/units/{unit}/recommendations"),
    ("mediation", "GET", "/v1/mediations"),
    ("mediation", "GET", "/v1/referrals"),
    ("mediation", "GET", "/v1/worklist/mediations"),
    ("mediation", "GET", "/v1/worklist/referrals"),
    ("mediation", "GET", "/v1/mediation-figures"),
    ("notify", "GET", "/v1/inbox"),
    ("supervision", "GET", "/v1/ledger/entries"),  # the risk ledger: an area's, a unit's, one's own
    ("supervision", "GET", "/v1/agent/cases"),  # an agent's own cases (docs/agents.md)
}
# Live streams (server-sent events) that name no record: what they tell a unit is its own (checked by
# content in tests/e2e/test_live_streams.py); here only whether the role is admitted at all.
STREAMS_OF_ONES_OWN = {
    ("supervision", "GET", "/v1/streams/worklist"),
    ("notify", "GET", "/v1/streams/inbox"),
}


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


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A platform of its own (the calls change records and the directory), seeded."""
    stack = start_stack(tmp_path_factory.mktemp("authz"))
    try:
        yield seed(stack)
    finally:
        stack.stop()


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
    return World(
        replay=replayed.json()["id"],
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


@dataclass
class Call:
    """One operation called for one role: the record's unit, the URL, the query, the body, and the key
    that names the record in a list's answer."""

    unit: str | None
    url: str
    query: dict[str, Any]
    body: dict[str, Any] | None
    key: str


# Records the seed holds none of for a role with a narrow scope: their own variant is not called.
NONE_OF_THEIR_OWN = {
    ("notify", "POST", "/v1/inbox/{notification_id}/read", role)
    for role in ("supervisor", "county_leader", "auditor", "admin", "reception_clerk", "dispatcher")
} | {("mediation", "POST", "/v1/referrals", "mediator")}
# a proxy agent's own are the cases it represents and its inbox: the seed gives no case an agent
# (tests/e2e/test_agents.py calls them as the agent of a case, and as one that is not)
NONE_OF_THEIR_OWN |= {
    (service, method, path, "proxy_agent")
    for service, method, path in (
        ("supervision", "GET", "/v1/cases/{case_id}/representation"),
        ("supervision", "GET", "/v1/agent/cases/{case_id}"),
        ("supervision", "POST", "/v1/agent/cases/{case_id}/rating"),
        ("supervision", "POST", "/v1/agent/cases/{case_id}/review"),
        ("notify", "POST", "/v1/inbox/{notification_id}/read"),
    )
}
# a unit's letter (督办函) comes with an escalation of an overdue case, which the seed does not wait for
NONE_OF_THEIR_OWN |= {
    ("notify", "GET", "/v1/notifications/{notification_id}/document", role)
    for role in ("unit_handler", "unit_leader", "mediator")
}
# Creating one's own record: no other unit's record to be kept from (the caller's submission is its own).
CREATES = {
    ("intake", "POST", "/v1/cases"),
    ("supervision", "POST", "/v1/ledger/entries"),
    ("supervision", "POST", "/v1/agents"),
}


def call_for(
    world: World, op: tuple[str, str, str, bool], role: str, scope: Scope | None, mine: bool
) -> Call:
    """The call of an operation for a role: on its own unit's record, or as a unit that is not on it."""
    service, method, path, has_body = op
    narrow = scope in NARROW
    case, unit = world.case, world.lead
    if service == "intake" and path == "/v1/cases/{case_id}" and narrow:
        case, unit = world.report, world.inspection  # a unit reads here only the reports it is given
    message = world.message
    if role == "external_system" or path.endswith("/document"):
        message, unit = world.portal_message, PORTAL  # a petitioner's letter, of a case the portal sent
    elif role == "mediator" and "{notification_id}" in path:
        message, unit = world.organization_message, world.organization
    if "{mediation_id}" in path or "{mediator_id}" in path or "{code}" in path:
        unit = world.organization
    if path in ("/v1/mediations", "/v1/mediation-figures", "/v1/mediators") and method == "GET":
        unit = world.organization
    if "{referral_id}" in path or (path == "/v1/referrals" and method == "GET"):
        unit = world.center
    values = {
        "case_id": case["case_id"],
        "mediation_id": world.mediation["id"],
        "referral_id": world.referral["id"],
        "notification_id": message,
        "mediator_id": world.mediator,
        "code": world.organization,
        "unit": world.lead,
        "no": "1",
        "kind": "acceptance",
        "list_name": "overdue",
        "entry_id": world.ledger_entry,
        "agent_id": f"AG-T-{world.case['jurisdiction']['town']}",  # the town agent of the case's town
        "session_id": world.session["session_id"],
        "booking_id": world.session["bookings"][0]["booking_id"],
        "document_id": world.document,
        "replay_id": world.replay,
    }
    query: dict[str, Any] = {}
    key = case["case_id"]
    body: dict[str, Any] | None = PROBE if has_body else None
    if (service, method, path) == ("mediation", "POST", "/v1/mediations"):
        unit, body = world.mediated_lead, {"case_id": world.mediation["case_id"]}  # open: 409, one is open
    elif (service, method, path) == ("mediation", "POST", "/v1/referrals"):
        unit = world.referred_lead
        body = {"case_id": world.referral["case_id"], "kind": "legal_aid", "reason": "需要法律援助"}
    elif (service, method, path) == ("mediation", "POST", "/v1/mediators"):
        unit = world.organization
        body = {"id": f"m{uuid.uuid4().hex[:8]}", "name": "调解员", "organization": world.organization}
    elif path == "/v1/mediations":
        query, key = {"case_id": world.mediation["case_id"]}, world.mediation["id"]
    elif path == "/v1/referrals":
        query, key = {"case_id": world.referral["case_id"]}, world.referral["id"]
    elif path == "/v1/notifications":
        query = {"case_id": case["case_id"]}
    elif path == "/v1/inbox":
        key = world.organization_message if role == "mediator" else world.message
        unit = world.organization if role == "mediator" else unit
    elif path == "/v1/ledger/entries":
        key = world.ledger_entry
    elif path in ("/v1/kpis", "/v1/units/{unit}/recommendations"):
        key = world.lead
    elif path == "/v1/mediation-figures":
        key = world.organization
    elif path == "/v1/worklist":
        query = {"unit": world.lead, "open": "false"} if scope == Scope.COUNTY else {"open": "false"}
    elif path == "/v1/worklist/mediations":  # an organization's own list
        unit, key = world.organization, world.mediation["id"]
        query = {"unit": world.organization} if scope == Scope.COUNTY else {}
    elif path == "/v1/worklist/referrals":  # a center's own list
        unit, key = world.center, world.referral["id"]
        query = {"unit": world.center} if scope == Scope.COUNTY else {}
    if not mine:
        unit = STRANGER if role == "external_system" else world.other
    return Call(unit, path.format(**values), query, body, key)


def outcome(response: httpx.Response, *, listed: bool, key: str) -> str:
    """What a call shows of the caller's access: a list that does not show the record hides it."""
    if response.status_code in (401, 403):
        return DENIED
    if response.status_code == 404 or (listed and response.status_code == 200 and key not in response.text):
        return HIDDEN
    return ADMITTED


# Roles whose own inbox the seed fills (a unit's, an organization's); another role's own inbox holds
# no seeded message, so its own list is admitted by answering at all.
INBOXES_SEEDED = {"unit_handler", "unit_leader", "mediator"}


def allowed(seen: str, scope: Scope | None, mine: bool, *, listed: bool, creates: bool, role: str) -> bool:
    """Whether what a call showed is what the table says of the role's scope."""
    if scope is None:
        return seen == DENIED
    if creates or scope in (Scope.COUNTY, Scope.ANY):
        return seen == ADMITTED
    if mine:
        unseeded = listed and scope == Scope.OWN and role not in INBOXES_SEEDED
        return seen == ADMITTED or (unseeded and seen == HIDDEN)
    return seen in (DENIED, HIDDEN)


def opened(caller: Api, url: str, query: dict[str, Any]) -> httpx.Response:
    """How a live stream answers (its status and headers; the stream itself goes on, so it is closed)."""
    with caller.client.stream("GET", url, params=query) as response:
        return response


def operations(stack: Stack) -> list[tuple[str, str, str, bool]]:
    """(service, method, path, has a body) of every operation of the live OpenAPI documents."""
    out = []
    for service in SERVICES:
        spec = httpx.get(f"{stack.url(service)}/openapi.json", timeout=10).json()
        for path, ops in spec["paths"].items():
            if path in OPEN:
                continue
            for method, op in ops.items():
                out.append((service, method.upper(), path, "requestBody" in op))
    return out


@pytest.mark.timeout(1200)  # about two thousand calls; a bound on waiting, not a timing figure
def test_every_operation_answers_every_role_as_the_table_says(world: World):
    table = load_table()
    differences: list[str] = []
    tried: Counter[str] = Counter()
    callers: dict[tuple[str, str], Api] = {}
    for service, method, path, body in operations(world.stack):
        grant = table.grant(service, method, path)
        assert grant is not None, f"{service} {method} {path} is not in the authorization table"
        if grant.open311 or grant.public:
            continue  # the Open311 door checks its clients' keys itself (tests/e2e/test_open311*)
        listed = (service, method, path) in LISTS
        creates = (service, method, path) in CREATES
        for role in Role:
            scope = grant.roles.get(role.value)
            for mine in (True, False):
                if mine and scope in NARROW and (service, method, path, role.value) in NONE_OF_THEIR_OWN:
                    tried["unseeded"] += 1
                    continue
                call = call_for(world, (service, method, path, body), role.value, scope, mine)
                caller = callers.get((role.value, call.unit)) or api(world.stack, role.value, call.unit)
                callers[(role.value, call.unit)] = caller
                if path.startswith("/v1/streams/"):
                    if not mine and (service, method, path) in STREAMS_OF_ONES_OWN and scope in NARROW:
                        tried["own stream"] += 1
                        continue
                    r = opened(caller, caller.url(service, call.url), call.query)
                else:
                    sent = {"json": call.body} if call.body is not None else {}
                    r = caller.client.request(
                        method, caller.url(service, call.url), params=call.query, **sent
                    )
                seen = outcome(r, listed=listed, key=call.key)
                tried[seen] += 1
                if not allowed(seen, scope, mine, listed=listed, creates=creates, role=role.value):
                    who = f"{role.value} of {'its own' if mine else 'another'} unit"
                    differences.append(f"{method} {service}{path} as {who}: {seen} ({r.status_code})")
    print(f"authorization calls: {sum(tried.values())} ({dict(tried)})")
    assert not differences, "\n".join(differences)
    assert tried[DENIED] and tried[HIDDEN] and tried[ADMITTED]


def test_an_operation_missing_from_the_table_keeps_its_service_from_starting(tmp_path: Path):
    from fastapi import APIRouter

    from dispatch_common.authz import TableError
    from dispatch_common.http import check_operations

    router = APIRouter()

    @router.get(f"/v1/unlisted-{uuid.uuid4().hex[:6]}")
    async def unlisted() -> dict[str, str]:
        return {}

    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    with pytest.raises(TableError, match="names no entry"):
        check_operations(app, load_table(), "intake")
