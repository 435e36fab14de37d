"""Who may do what in which state, and the figures counted from concluded mediations."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch_common.authz import load_table
from services.mediation.domain import figures
from services.mediation.domain import referrals as referral_rules
from services.mediation.domain.lifecycle import ACTIONS, NotAllowed, NotEntitled, check, may_see
from tests.mediation_cases import (
    CLERK,
    DISPATCHER,
    LEGAL_AID,
    POLICE_STATION,
    VILLAGE_COMMITTEE,
    handler_of,
    mediator_of,
)

DOC = {"organization": {"code": VILLAGE_COMMITTEE}, "status": "opened", "partner_units": []}


def test_only_the_organization_consents_and_sessions_wait_for_consent():
    check(ACTIONS["consent"], DOC, mediator_of(VILLAGE_COMMITTEE))
    with pytest.raises(NotEntitled):
        check(ACTIONS["consent"], DOC, mediator_of("OTHER"))
    with pytest.raises(NotEntitled):
        check(ACTIONS["consent"], DOC, DISPATCHER)
    with pytest.raises(NotAllowed, match="only in escalated, in_progress"):
        check(ACTIONS["schedule_session"], DOC, mediator_of(VILLAGE_COMMITTEE))
    check(ACTIONS["escalate"], DOC, DISPATCHER)  # dispatchers may escalate and reassign
    with pytest.raises(NotAllowed):
        check(ACTIONS["check_fulfilment"], DOC, DISPATCHER)


def test_who_sees_a_mediation_and_a_referral():
    assert may_see(CLERK, DOC) and may_see(mediator_of(VILLAGE_COMMITTEE), DOC)
    assert not may_see(handler_of(POLICE_STATION), DOC)
    assert may_see(handler_of(POLICE_STATION), DOC | {"partner_units": [POLICE_STATION]})  # after escalation
    referral = {
        "receiving_unit": {"code": LEGAL_AID},
        "made_by": {"unit": VILLAGE_COMMITTEE},
        "kind": "legal_aid",
    }
    assert referral_rules.may_see(handler_of(LEGAL_AID), referral)
    assert referral_rules.may_see(mediator_of(VILLAGE_COMMITTEE), referral)
    assert not referral_rules.may_see(handler_of(POLICE_STATION), referral)


def test_a_legal_aid_lawyer_is_assigned_only_after_the_review_and_sessions_are_for_counselling():
    doc = {"receiving_unit": {"code": LEGAL_AID}, "kind": "legal_aid", "status": "accepted", "review": None}
    center = handler_of(LEGAL_AID)
    with pytest.raises(NotAllowed, match="after the application passed its review"):
        referral_rules.check(referral_rules.STEPS["assign"], doc, center)
    referral_rules.check(referral_rules.STEPS["assign"], doc | {"review": {"eligible": True}}, center)
    with pytest.raises(NotAllowed, match="only for counselling"):
        referral_rules.check(referral_rules.STEPS["record_session"], doc, center)
    # the center's handlers and leaders accept it; its mediators may not (the authorization table)
    accept = load_table().grant("mediation", "POST", "/v1/referrals/{referral_id}/accept")
    assert accept is not None and set(accept.roles) == {"unit_handler", "unit_leader"}
    with pytest.raises(NotEntitled):  # and a unit acts only for itself
        referral_rules.check(
            referral_rules.STEPS["accept"], doc | {"status": "made"}, handler_of(POLICE_STATION)
        )


T0 = datetime(2026, 3, 2, tzinfo=UTC)


def concluded(org: str, kind: str, result: str, days: float, status: str | None = None) -> dict:
    return {
        "organization": {"code": org, "name": f"name of {org}", "type": kind},
        "type": kind,
        "status": status or result,
        "outcome": {"result": result},
        "opened_at": T0,
        "concluded_at": T0 + timedelta(days=days),
    }


def test_success_rate_and_average_duration_leave_refusals_out():
    docs = [
        concluded("A", "people", "agreed", 10, "fulfilled"),
        concluded("A", "people", "agreed", 20, "unfulfilled"),
        concluded("A", "people", "failed", 30),
        concluded("A", "people", "refused", 1),
        concluded("B", "court", "agreed", 5),
    ]
    by_org = {r["organization"]: r for r in figures.summarize(docs, "organization")}
    a = by_org["A"]
    assert (a["concluded"], a["agreements"], a["failures"], a["refusals"]) == (4, 2, 1, 1)
    assert a["success_rate"] == round(2 / 3, 4) and a["average_days"] == 20.0
    assert (a["fulfilled"], a["unfulfilled"], a["fulfilment_rate"]) == (1, 1, 0.5)
    assert by_org["B"]["success_rate"] == 1.0 and by_org["B"]["fulfilment_rate"] is None
    by_type = {r["type"]: r for r in figures.summarize(docs, "type")}
    assert set(by_type) == {"people", "court"} and by_type["people"]["agreements"] == 2
    only_refused = figures.summarize([concluded("C", "people", "refused", 2)], "organization")
    assert only_refused[0]["success_rate"] is None and only_refused[0]["average_days"] is None
