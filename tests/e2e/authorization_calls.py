"""The call the authorization walk makes of an operation for a role: on the caller's own unit's
record, or as a unit that is not on it (tests/e2e/test_authorization.py)."""

import uuid
from dataclasses import dataclass
from typing import Any

from dispatch_common.authz import Scope
from tests.e2e.authorization_world import PORTAL, STRANGER, World

PROBE = {"__authorization_probe__": True}  # no operation's body takes it: an admitted call answers 422
NARROW = {Scope.AREA, Scope.UNIT, Scope.OWN}


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
        "replay_id": world.screening_replay if service == "intake" else world.replay,
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
