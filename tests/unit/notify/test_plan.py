"""Who hears of what, and on which channel, for each event notify speaks on (pure, no servers)."""

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.notify_fakes import alarm, assigned, handled, screened, unit
from dispatch_common import subjects
from dispatch_common.envelope import make_event
from dispatch_common.paths import DATA_DIR
from services.notify.domain.models import CaseScreenedView
from services.notify.domain.plan import notices, occasion
from services.notify.domain.recipients import Directory, DirectoryProblem
from services.notify.domain.templates import Templates
from services.notify.entrypoints.subscribers import SUBSCRIPTIONS

CHINA = ZoneInfo("Asia/Shanghai")
TEMPLATES = Templates(DATA_DIR / "notify" / "templates.json")
LEAD = unit("990102-XFJ", "信访局")
OTHER = unit("U-2", "某局", "assist")
CASE = {
    "case_no": "990102-2026-000001",
    "petitioner": {"anonymous": False, "phone_masked": "138****5678", "contact_token": "tok"},
    "lead_unit": {"code": LEAD["code"], "name": LEAD["name"]},
}


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    raw = json.loads((DATA_DIR / "notify" / "recipients.json").read_text(encoding="utf-8"))
    raw["webhooks"] = [{"name": "hotline", "url": "http://127.0.0.1:9/h", "secret": "h", "kinds": ["reply"]}]
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return Directory(path)


def plan(event, case, directory):
    model = SUBSCRIPTIONS[event.type]
    occ = occasion(event.type, model.model_validate(event.data), case, tz=CHINA, at=event.time)
    occ.values["county_name"] = "示范县"
    owed, waiting = notices(occ, case, directory)
    for notice in owed:  # every notice has a template that renders with the values the event gives
        TEMPLATES.compose(notice.kind, notice.target.recipient.audience, notice.target.channel, occ.values)
    return sorted((n.kind, n.target.recipient.key, n.target.channel) for n in owed), waiting, owed


def test_the_screening_outcome_owes_the_petitioner_one_notice_on_one_channel(directory):
    event = screened("c1", CASE["case_no"], contact_token="tok", phone_masked="138****5678")
    got, waiting, owed = plan(event, CASE, directory)
    assert got == [("acceptance", "petitioner", "sms")] and not waiting
    assert owed[0].label == "138****5678" and owed[0].contact_token == "tok"
    anonymous = {"petitioner": {"anonymous": True}}
    got, _, owed = plan(
        screened("c1", CASE["case_no"], anonymous=True, outcome="not_accepted"), anonymous, directory
    )
    assert got == [("refusal", "petitioner", "inbox")] and owed[0].target.reason == "anonymous petitioner"
    manual = plan(screened("c1", CASE["case_no"], outcome="manual"), CASE, directory)
    assert manual[0] == []
    urgent = plan(screened("c1", CASE["case_no"], outcome="emergency_transfer"), CASE, directory)[2]
    assert urgent[0].kind == "transfer" and urgent[0].urgent


def test_an_assignment_tells_the_petitioner_the_unit_and_time_limit_and_the_units_by_their_channels(
    directory,
):
    event = assigned("c1", CASE["case_no"], LEAD, [OTHER])
    got, _, owed = plan(event, CASE, directory)
    assert got == [
        ("assignment", "petitioner", "sms"),
        ("assignment", "unit:990102-XFJ", "email"),
        ("assignment", "unit:990102-XFJ", "inbox"),
        ("assignment", "unit:U-2", "inbox"),
    ]
    values = owed[0].values
    assert values["unit_name"] == "信访局" and values["due_date"].endswith("日")
    email = next(n for n in owed if n.target.channel == "email")
    assert "xfj@" not in email.label and "x***@" in email.label


def test_escalation_letters_climb_to_leaders_by_level_and_are_urgent(directory):
    reminder = plan(
        alarm(subjects.CASE_ESCALATED, "c1", "n", LEAD, level="reminder", label="提醒函"), CASE, directory
    )
    assert {k for _, k, _ in reminder[0]} == {"unit:990102-XFJ"}
    circular = plan(
        alarm(subjects.CASE_ESCALATED, "c1", "n", LEAD, level="circular", label="通报"), CASE, directory
    )
    assert {k for _, k, _ in circular[0]} == {
        "unit:990102-XFJ",
        "unit_leader:990102-XFJ",
        "role:supervisor",
        "role:county_leader",
    }
    assert all(n.urgent and n.level == "circular" for n in circular[2])
    warning = plan(alarm(subjects.CASE_DEADLINE_WARNING, "c1", "n", LEAD), CASE, directory)
    assert warning[0] == [
        ("deadline_warning", "unit:990102-XFJ", "email"),  # this unit chose e-mail besides its inbox
        ("deadline_warning", "unit:990102-XFJ", "inbox"),
    ]
    assert not warning[2][0].urgent


def test_the_reply_goes_to_the_petitioner_with_a_follow_up_invitation_and_to_subscribed_systems(directory):
    got, _, _ = plan(
        handled(subjects.CASE_REPLIED, "c1", "n", "reply", result="resolved", note="修好了"), CASE, directory
    )
    assert got == [
        ("followup", "petitioner", "sms"),
        ("reply", "petitioner", "sms"),
        ("reply", "webhook:hotline", "webhook"),
    ]
    progress = plan(
        handled(subjects.CASE_PROGRESSED, "c1", "n", "progress", note="已到场", public=True), CASE, directory
    )
    assert progress[0] == [("progress", "petitioner", "sms")]
    extension_request = plan(
        handled(subjects.CASE_PROGRESSED, "c1", "n", "extension", days=10, note="需等待汛期结束"),
        CASE,
        directory,
    )
    # the request is told to those who decide it, not to the petitioner (who hears the decision)
    assert extension_request[0] == [("extension_request", "role:supervisor", "inbox")]
    [asked] = extension_request[2]
    text = TEMPLATES.compose("extension_request", "leader", "inbox", asked.values).text
    assert "10日" in text and "需等待汛期结束" in text and CASE["case_no"] in text
    refused = plan(
        handled(subjects.CASE_EXTENDED, "c1", "n", "extension_decision", approved=False, days=0),
        CASE,
        directory,
    )
    assert refused[0] == []


def test_a_notice_for_a_petitioner_not_seen_yet_waits_while_the_units_are_told(directory):
    got, waiting, _ = plan(assigned("c1", "n", LEAD), {}, directory)
    assert ("assignment", "unit:990102-XFJ", "inbox") in got and "petitioner" not in {k for _, k, _ in got}
    assert waiting and "not known yet" in waiting[0]


def test_a_conference_decision_tells_the_old_and_the_new_lead_unit_and_a_dispute_the_joint_conference(
    directory,
):
    base = {
        "case_id": "c1",
        "case_no": "990102-2026-000001",
        "jurisdiction": {"town": None, "village": None, "grid": None, "source": "person"},
        "category": {"code": None, "subcode": None, "confidence": 0},
        "flags": [],
        "assisting_units": [],
        "tier": "general",
        "queue": "auto",
        "explanation": [],
        "package_version": "p",
        "revision": 3,
        "reason": "联席会议决定",
        "decided_by": {"subject": "s", "role": "supervisor"},
        "lead_unit": LEAD,
        "previous_lead_unit": OTHER,
    }
    conference = make_event(
        type=subjects.CASE_REROUTED,
        source="/dispatch/routing",
        subject="c1",
        data=base | {"cause": "conference"},
    )
    got, _, _ = plan(conference, CASE, directory)
    assert got == [
        ("conference_decision", "unit:990102-XFJ", "email"),
        ("conference_decision", "unit:990102-XFJ", "inbox"),
        ("conference_decision", "unit:U-2", "inbox"),
    ]
    override = make_event(
        type=subjects.CASE_REROUTED,
        source="/dispatch/routing",
        subject="c1",
        data=base | {"cause": "override"},
    )
    assert plan(override, CASE, directory)[0] == []
    disputed = make_event(
        type=subjects.CASE_ROUTE_DISPUTED,
        source="/dispatch/routing",
        subject="c1",
        data={
            "case_id": "c1",
            "case_no": "n",
            "revision": 1,
            "reason": "退回两次",
            "raised_by": {"subject": "s", "role": "r"},
            "lead_unit": LEAD,
            "returns": [],
        },
    )
    assert plan(disputed, CASE, directory)[0] == [
        ("dispute", "role:supervisor", "inbox"),
        ("dispute", "unit:990102-LXHY", "inbox"),
    ]


def test_a_recipients_file_naming_an_unknown_audience_is_refused(tmp_path: Path):
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps({"kinds": {"acceptance": {"to": ["mayor"]}}}), encoding="utf-8")
    with pytest.raises(DirectoryProblem, match="mayor"):
        Directory(path)


def test_the_screened_view_reads_only_what_notify_needs():
    view = CaseScreenedView.model_validate(screened("c1", "990102-2026-000001", anonymous=True).data)
    assert view.petitioner.anonymous and view.petitioner.contact_token is None


def test_a_mediation_session_invites_the_petitioner_and_tells_the_organization(directory):
    session = {
        "no": 2,
        "status": "scheduled",
        "start_at": "2026-03-05T01:30:00+00:00",
        "end_at": None,
        "place": None,
        "video": True,
        "participants": [],
    }
    data = {
        "mediation_id": "m1",
        "case_id": "c1",
        "case_no": "990102-2026-000001",
        "type": "people",
        "status": "in_progress",
        "organization": {"code": "V-TJW", "name": "某村调委会", "type": "people"},
        "mediator": None,
        "by": None,
        "at": "2026-03-02T01:00:00+00:00",
        "session": session,
        "reason": None,
    }
    event = make_event(
        type=subjects.MEDIATION_SESSION_RESCHEDULED, source="/dispatch/mediation", subject="c1", data=data
    )
    got, _, owed = plan(event, CASE, directory)
    assert got == [("mediation_session", "petitioner", "sms"), ("mediation_session", "unit:V-TJW", "inbox")]
    text = TEMPLATES.compose("mediation_session", "petitioner", "sms", owed[0].values).text
    assert "调解时间已变更" in text and "2026年03月05日 09:30" in text and "视频调解" in text


def test_the_morning_inspection_tells_supervisors_and_county_leaders_its_counts(directory):
    event = make_event(
        type=subjects.INSPECTION_COMPILED,
        source="/dispatch/supervision",
        subject=None,
        data={
            "day": "2026-03-01",
            "compiled_at": "2026-03-01T00:05:00+00:00",
            "counts": {"overdue": 4, "irregular": 2, "stuck": 1, "ledger": 3},
        },
    )
    got, waiting, owed = plan(event, {}, directory)
    assert {(kind, key) for kind, key, _ in got} == {
        ("daily_inspection", "role:supervisor"),
        ("daily_inspection", "role:county_leader"),
    }
    assert not waiting and all(n.case_id is None for n in owed)
    text = TEMPLATES.compose("daily_inspection", "leader", "inbox", owed[0].values).text
    assert "2026年03月01日" in text and "超期未办结4件" in text and "流转停滞1件" in text
    assert "排查台账超期未销账3项" in text


def test_a_risk_ledger_entrys_overdue_tells_its_owner_unit_its_leader_and_the_supervisors(directory):
    data = {
        "entry_id": "e1",
        "entry_no": "TZ20260302-ABC123",
        "owner_unit": {"code": LEAD["code"], "name": LEAD["name"]},
        "status": "in_progress",
        "risk_level": "high",
        "deadline": {"kind": "ledger", "label": "化解销账", "due_at": "2026-03-09T01:00:00+00:00"},
    }
    event = make_event(type=subjects.LEDGER_OVERDUE, source="/dispatch/supervision", subject=None, data=data)
    got, waiting, owed = plan(event, {}, directory)  # notify has seen nothing else of the entry
    assert {k for _, k, _ in got} == {"unit:990102-XFJ", "unit_leader:990102-XFJ", "role:supervisor"}
    assert {kind for kind, _, _ in got} == {"overdue"} and not waiting
    text = TEMPLATES.compose("overdue", "unit", "inbox", owed[0].values).text
    assert "TZ20260302-ABC123" in text and "化解销账" in text
    rung = make_event(
        type=subjects.LEDGER_ESCALATED,
        source="/dispatch/supervision",
        subject=None,
        data=data | {"level": "supervision_letter", "label": "督办函"},
    )
    assert {k for _, k, _ in plan(rung, {}, directory)[0]} == {
        "unit:990102-XFJ",
        "unit_leader:990102-XFJ",
        "role:supervisor",
    }
