"""Who hears of a dispute that grows, a counselling crisis, a mediation moved to another organization
or mediator, a time limit passed, a fulfilment check and each step of a referral, on which channel,
and whether it may wait for the morning (pure, no servers). Every event is checked against proto/
first, so the shapes are the producer's."""

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dispatch_common import subjects
from dispatch_common.contracts import validate_event
from dispatch_common.envelope import make_event
from dispatch_common.paths import DATA_DIR
from services.notify.domain.plan import notices, occasion
from services.notify.domain.recipients import Directory
from services.notify.domain.templates import Templates
from services.notify.entrypoints.subscribers import SUBSCRIPTIONS

CHINA = ZoneInfo("Asia/Shanghai")
TEMPLATES = Templates(DATA_DIR / "notify" / "templates.json")
CASE = {
    "case_no": "990102-2026-000001",
    "petitioner": {"anonymous": False, "phone_masked": "138****5678", "contact_token": "tok"},
}
ORG = {"code": "V-TJW", "name": "某村人民调解委员会", "type": "people"}
POLICE = {"code": "T-PCS", "name": "某派出所", "type": "police_station"}
CENTER = {"code": "C-XLZX", "name": "某心理服务中心", "type": "psychological_counseling_center"}
AID = {"code": "C-FLYZ", "name": "某法律援助中心", "type": "legal_aid_center"}
LABOUR = {"code": "C-LDTJW", "name": "某劳动人事争议调解委员会", "type": "professional"}
AT = "2026-03-02T14:00:00Z"
PLACE = {"town": "T", "village": None}


@pytest.fixture
def directory(tmp_path: Path) -> Directory:
    raw = json.loads((DATA_DIR / "notify" / "recipients.json").read_text(encoding="utf-8"))
    raw["units"][POLICE["code"]] = {"phone": "13900002222", "by_kind": {"mediation_escalation": ["sms"]}}
    by_sms = {"mediation_assigned": ["sms"], "mediation_overdue": ["sms"]}
    raw["units"][LABOUR["code"]] = {"phone": "13900004444", "by_kind": by_sms}
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return Directory(path)


def event(event_type: str, data: dict):
    made = make_event(type=event_type, source="/dispatch/mediation", subject="c1", data=data)
    validate_event(made.to_document())
    return made


def mediation(event_type: str, **data) -> object:
    common = {
        "mediation_id": "m1",
        "case_id": "c1",
        "case_no": CASE["case_no"],
        "type": "people",
        "status": "escalated",
        "organization": ORG,
        "mediator": None,
        "by": None,
        "at": AT,
    }
    return event(event_type, common | data)


def referral(event_type: str, kind: str = "legal_aid", receiving: dict = AID, **data) -> object:
    common = {
        "referral_id": "r1",
        "case_id": "c1",
        "case_no": CASE["case_no"],
        "mediation_id": None,
        "kind": kind,
        "status": "made",
        "receiving_unit": receiving,
        "by": None,
        "at": AT,
    }
    return event(event_type, common | data)


def plan(made, directory, case=CASE):
    model = SUBSCRIPTIONS[made.type]
    occ = occasion(made.type, model.model_validate(made.data), case, tz=CHINA, at=made.time)
    occ.values["county_name"] = "示范县"
    owed, waiting = notices(occ, case, directory)
    assert waiting == []
    texts = {}
    for n in owed:  # every notice has a template that renders with the values the event gives
        key = (n.target.recipient.key, n.target.channel)
        texts[key] = TEMPLATES.compose(n.kind, n.target.recipient.audience, n.target.channel, occ.values).text
    return (
        sorted((n.kind, *key) for n in owed for key in [(n.target.recipient.key, n.target.channel)]),
        owed,
        texts,
    )


def escalated(police: dict | None) -> object:
    return mediation(
        subjects.MEDIATION_ESCALATED,
        reason="扬言报复",
        people_count=7,
        threats=True,
        warning={"level": "warning", "reasons": ["threats of violence"]},
        police_station=police,
        jurisdiction=PLACE,
    )


def test_a_dispute_that_grows_alerts_the_police_station_of_the_place_and_the_organization_at_once(directory):
    got, owed, texts = plan(escalated(POLICE), directory)
    assert got == [
        ("mediation_escalation", "unit:T-PCS", "inbox"),
        ("mediation_escalation", "unit:T-PCS", "sms"),
        ("mediation_escalation", "unit:V-TJW", "inbox"),
    ]
    assert all(n.urgent for n in owed)  # never held by quiet hours
    assert "某派出所" in texts[("unit:T-PCS", "sms")] and "涉及7人" in texts[("unit:T-PCS", "sms")]
    # no police unit serves the place: the organization still hears, and the text says whom to call
    got, _, texts = plan(escalated(None), directory)
    assert got == [("mediation_escalation", "unit:V-TJW", "inbox")]
    assert "属地公安派出所" in texts[("unit:V-TJW", "inbox")]


def test_a_counselling_crisis_alerts_the_police_station_and_the_center_at_once(directory):
    crisis = referral(
        subjects.REFERRAL_CRISIS,
        kind="counselling",
        receiving=CENTER,
        risk_level="crisis",
        note="流露轻生念头",
        police_station=POLICE,
        jurisdiction=PLACE,
    )
    got, owed, texts = plan(crisis, directory)
    assert got == [  # supervisors hear of it by supervision's crisis warning
        ("counselling_crisis", "unit:C-XLZX", "inbox"),
        ("counselling_crisis", "unit:T-PCS", "inbox"),
    ]
    assert all(n.urgent for n in owed)
    assert (
        "流露轻生念头" in texts[("unit:T-PCS", "inbox")]
        and "某心理服务中心" in texts[("unit:T-PCS", "inbox")]
    )


def test_the_fulfilment_check_reminds_the_organization_and_tells_the_petitioner(directory):
    due = mediation(
        subjects.MEDIATION_FULFILMENT_DUE,
        status="agreed",
        agreement={"agreement_no": "A-1", "fulfilment_due": "2026-03-20", "check_at": "2026-03-20T16:00:00Z"},
    )
    got, owed, texts = plan(due, directory)
    assert got == [
        ("mediation_fulfilment", "petitioner", "sms"),
        ("mediation_fulfilment", "unit:V-TJW", "inbox"),
    ]
    assert not any(n.urgent for n in owed)
    assert "2026年03月20日" in texts[("petitioner", "sms")] and "A-1" in texts[("unit:V-TJW", "inbox")]


def test_each_step_of_a_referral_tells_the_center_and_the_petitioner_as_the_track_allows(directory):
    made = referral(
        subjects.REFERRAL_MADE, origin="mediation", reason="调解不成", risk_level=None, matter_type="labour"
    )
    got, owed, texts = plan(made, directory)
    assert got == [("referral_made", "petitioner", "sms"), ("referral_made", "unit:C-FLYZ", "inbox")]
    assert owed[0].level == "legal_aid" and "法律援助" in texts[("petitioner", "sms")]
    accepted = plan(referral(subjects.REFERRAL_ACCEPTED, status="accepted"), directory)[0]
    assert accepted == [("referral_accepted", "petitioner", "sms")]
    closed = referral(
        subjects.REFERRAL_CLOSED,
        status="closed",
        result="not_eligible",
        note="不属于援助事项",
        sessions=0,
        handler=None,
    )
    got, _, texts = plan(closed, directory)
    assert got == [("referral_closed", "petitioner", "sms")]
    assert "不符合法律援助条件" in texts[("petitioner", "sms")]

    # counselling: the center hears; the demo county texts the petitioner nothing about it
    counselling = {"kind": "counselling", "receiving": CENTER}
    made = referral(
        subjects.REFERRAL_MADE, **counselling, origin="flag", reason=None, risk_level="low", matter_type=None
    )
    assert plan(made, directory)[0] == [("referral_made", "unit:C-XLZX", "inbox")]
    assert plan(referral(subjects.REFERRAL_ACCEPTED, **counselling, status="accepted"), directory)[0] == []


def assigned(
    organization: dict, previous: dict | None, *, mediator: str | None = "王某", reason: str | None = None
) -> object:
    return mediation(
        subjects.MEDIATION_ASSIGNED,
        status="in_progress",
        organization=organization,
        mediator={"id": "md-2", "name": mediator} if mediator else None,
        previous_organization=previous,
        previous_mediator={"id": "md-1", "name": "李某"},
        reason=reason,
    )


def test_a_mediation_moved_to_another_organization_tells_the_new_one_and_the_one_it_left(directory):
    got, owed, texts = plan(assigned(LABOUR, ORG, reason="属劳动争议"), directory)
    assert got == [  # the petitioner hears nothing of it: the new organization contacts them
        ("mediation_assigned", "unit:C-LDTJW", "inbox"),
        ("mediation_assigned", "unit:C-LDTJW", "sms"),
        ("mediation_assigned", "unit:V-TJW", "inbox"),
    ]
    assert not any(n.urgent for n in owed)  # an SMS at night waits for the morning
    new, old = texts[("unit:C-LDTJW", "inbox")], texts[("unit:V-TJW", "inbox")]
    assert new == old  # one text names both: who took it over and who hands the file on
    assert "由某村人民调解委员会改由某劳动人事争议调解委员会承办" in new
    assert "调解员王某" in new and "属劳动争议" in new and "调解期限不变" in new
    assert "改由某劳动人事争议调解委员会承办" in texts[("unit:C-LDTJW", "sms")]


def test_another_mediator_of_the_same_organization_is_told_to_that_organization_alone(directory):
    got, _, texts = plan(assigned(ORG, ORG, reason="原调解员回避"), directory)
    assert got == [("mediation_assigned", "unit:V-TJW", "inbox")]
    text = texts[("unit:V-TJW", "inbox")]
    assert "改由调解员王某承办（原调解员李某）" in text and "原调解员回避" in text
    assert "调解期限不变" not in text  # no move: no hand-over
    # no mediator free: the organization is asked to name one
    got, _, texts = plan(assigned(ORG, ORG, mediator=None), directory)
    assert got == [("mediation_assigned", "unit:V-TJW", "inbox")]
    assert "暂无调解员（原调解员李某），请某村人民调解委员会及时指定" in texts[("unit:V-TJW", "inbox")]
    # an event that names no previous organization tells the organization it names
    got, _, _ = plan(assigned(ORG, None), directory)
    assert got == [("mediation_assigned", "unit:V-TJW", "inbox")]


def test_a_mediation_past_its_time_limit_reminds_its_organization(directory):
    overdue = mediation(
        subjects.MEDIATION_OVERDUE,
        status="in_progress",
        organization=LABOUR,
        mediator={"id": "md-2", "name": "王某"},
        deadline={"kind": "mediation", "label": "调解期限", "due_at": "2026-04-01T02:00:00Z"},
    )
    got, owed, texts = plan(overdue, directory)
    assert got == [
        ("mediation_overdue", "unit:C-LDTJW", "inbox"),
        ("mediation_overdue", "unit:C-LDTJW", "sms"),
    ]
    assert not any(n.urgent for n in owed)  # a reminder: quiet hours hold its SMS
    inbox = texts[("unit:C-LDTJW", "inbox")]
    assert "调解期限已于2026年04月01日 10:00届满" in inbox and "调解员王某" in inbox  # county time
    assert "某劳动人事争议调解委员会抓紧调处" in texts[("unit:C-LDTJW", "sms")]
