"""Attaching a case to its incident's lead case, and carrying the lead's steps to it (pure)."""

from datetime import UTC, datetime

from services.supervision.domain.events import CaseRoutedView
from services.supervision.domain.incidents import ATTACHED, attach, detached, follow

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
LINK = {"incident_id": "lead", "lead_case_id": "lead", "lead_case_no": "N1", "place": "G1"}


def routed(case_id: str, incident: dict | None) -> CaseRoutedView:
    return CaseRoutedView.model_validate(
        {
            "case_id": case_id,
            "case_no": "N2",
            "jurisdiction": {"town": "T", "village": "V", "grid": "G1"},
            "category": {"code": "04"},
            "flags": [],
            "tier": "general",
            "queue": "auto",
            "assisting_units": [],
            "lead_unit": {"code": "U", "name": "单位", "type": "department", "role": "lead"},
            "incident": incident,
        }
    )


def test_a_linked_route_attaches_the_case_to_its_lead_without_a_unit():
    changes = attach({"status": "screening"}, routed("c2", LINK), AT)
    assert changes is not None and changes["status"] == ATTACHED and changes["incident_lead"] == "lead"
    assert changes["lead_unit"] is None and changes["suggested_lead_unit"]["code"] == "U"
    assert attach({}, routed("c2", None), AT) is None
    assert attach({}, routed("lead", LINK), AT) is None  # the lead case itself is not attached


def test_a_route_without_an_incident_detaches_and_a_detached_case_follows_no_lead():
    doc = {"status": ATTACHED, "incident_lead": "lead", "incident": LINK}
    assert detached(doc) == {"incident": None, "incident_lead": None, "detached_from": LINK}
    assert detached({"status": "assigned"}) == {}
    record = {"action": "reply", "at": AT, "reply": {"result": "resolved"}}
    assert follow({"status": "assigned", "incident_lead": None}, "replied", record) is None


def test_the_leads_reply_and_closure_are_taken_once():
    record = {"action": "reply", "at": AT, "reply": {"result": "resolved"}}
    doc = {"status": ATTACHED, "incident_lead": "lead", "actions": []}
    replied = follow(doc, "replied", record)
    assert replied is not None and replied["status"] == "replied" and replied["reply"]["result"] == "resolved"
    assert follow(doc | replied, "replied", record) is None
    closed = follow(doc | replied, "closed", {"action": "close", "at": AT})
    assert closed is not None and closed["status"] == "closed"
    assert follow(doc | replied | closed, "closed", {"action": "close", "at": AT}) is None
