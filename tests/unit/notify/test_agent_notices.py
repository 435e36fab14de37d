"""What proxy agents are told (docs/agents.md): a case given to them, a climb between tiers, and a copy
of each notice of their petitioners (pure, no servers)."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench.notify_fakes import handled
from dispatch_common import subjects
from dispatch_common.envelope import Envelope, make_event
from dispatch_common.paths import DATA_DIR
from services.notify.domain.plan import notices, occasion
from services.notify.domain.recipients import Directory
from services.notify.domain.templates import Templates
from services.notify.entrypoints.subscribers import SUBSCRIPTIONS
from services.notify.handlers import case_facts

CHINA = ZoneInfo("Asia/Shanghai")
TEMPLATES = Templates(DATA_DIR / "notify" / "templates.json")
NO = "990102-2026-000001"
CASE: dict[str, Any] = {
    "case_no": NO,
    "petitioner": {"anonymous": False, "phone_masked": "138****5678", "contact_token": "tok"},
    "lead_unit": {"code": "990102-XFJ", "name": "信访局"},
}
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def directory() -> Directory:
    return Directory(DATA_DIR / "notify" / "recipients.json")


def owed(event: Envelope, case: dict[str, Any], directory: Directory) -> tuple[dict[str, Any], dict]:
    """The case as notify keeps it after the event, and the messages it owes by (kind, key, channel)."""
    view = SUBSCRIPTIONS[event.type].model_validate(event.data)
    case = {**case, **case_facts(view)}
    occ = occasion(event.type, view, case, tz=CHINA, at=event.time)
    occ.values["county_name"] = "示范县"
    made, _ = notices(occ, case, directory)
    texts = {
        (n.kind, n.target.recipient.key, n.target.channel): TEMPLATES.compose(
            n.kind, n.target.recipient.audience, n.target.channel, occ.values
        ).text
        for n in made
    }
    return case, texts


def represented(agents: list[str]) -> Envelope:
    data = {
        "case_id": "c1",
        "case_no": NO,
        "agent_id": agents[-1],
        "agent_name": "李代办",
        "tier": "village",
        "area": "990102001001",
        "how": "dispatcher",
        "consent": {"method": "signed_form", "given_at": AT.isoformat()},
        "agents": agents,
        "by": {"subject": "d1", "role": "dispatcher", "unit": None},
        "at": AT.isoformat(),
    }
    return make_event(type=subjects.CASE_REPRESENTED, source="supervision", subject="c1", data=data)


def escalated(agents: list[str]) -> Envelope:
    data = {
        "case_id": "c1",
        "case_no": NO,
        "from_agent": agents[-2],
        "to_agent": agents[-1],
        "to_agent_name": "王站长",
        "from_tier": "village",
        "to_tier": "town",
        "hours": 72,
        "agents": agents,
        "at": AT.isoformat(),
    }
    return make_event(type=subjects.CASE_AGENT_ESCALATED, source="supervision", subject="c1", data=data)


def test_the_agent_given_a_case_is_told_and_then_copied_the_petitioners_notices(directory):
    case, texts = owed(represented(["AG-V-1"]), CASE, directory)
    assert list(texts) == [("representation", "agent:AG-V-1", "inbox")]
    assert NO in texts["representation", "agent:AG-V-1", "inbox"] and "李代办" in texts[next(iter(texts))]
    assert case["agents"] == ["AG-V-1"]

    _, texts = owed(handled(subjects.CASE_CLOSED, "c1", NO, "close"), case, directory)
    assert set(texts) == {("closure", "petitioner", "sms"), ("closure", "agent:AG-V-1", "inbox")}
    petitioners = TEMPLATES.compose("closure", "petitioner", "inbox", {"case_no": NO, "unit_name": "信访局"})
    assert texts["closure", "agent:AG-V-1", "inbox"] == petitioners.text  # the petitioner's own text


def test_a_climb_tells_both_agents_and_every_agent_that_carried_the_case_is_copied(directory):
    case, texts = owed(escalated(["AG-V-1", "AG-T-1"]), CASE, directory)
    assert set(texts) == {
        ("agent_escalation", "agent:AG-V-1", "inbox"),
        ("agent_escalation", "agent:AG-T-1", "inbox"),
    }
    assert "镇级" in texts["agent_escalation", "agent:AG-T-1", "inbox"]
    _, texts = owed(handled(subjects.CASE_CLOSED, "c1", NO, "close"), case, directory)
    assert {k[1] for k in texts} == {"petitioner", "agent:AG-V-1", "agent:AG-T-1"}


def test_a_case_without_an_agent_copies_nobody(directory):
    _, texts = owed(handled(subjects.CASE_CLOSED, "c1", NO, "close"), CASE, directory)
    assert set(texts) == {("closure", "petitioner", "sms")}
