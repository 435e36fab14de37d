"""A mediation from start to end on the real (embedded) MongoDB server, with the clock moved:
choosing organization and mediator, consent and refusal, sessions, agreement and fulfilment,
failure with each referral, escalation, and the scanner acting once."""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from dispatch_common import subjects
from dispatch_common.auth import granted
from dispatch_common.contracts import validate_event
from services.mediation import commands, handlers, opening, scanner
from services.mediation.domain.lifecycle import NotAllowed, NotEntitled, may_see
from services.mediation.domain.parties import opened_document, opened_record
from tests.mediation_cases import (
    ARBITRATION,
    CLERK,
    COUNSELLING,
    COURT,
    DISPATCHER,
    LABOUR_MEDIATION,
    LEGAL_AID,
    MONDAY,
    POLICE_STATION,
    RULES,
    SEED,
    TOWN_COMMITTEE,
    VILLAGE_COMMITTEE,
    handler_of,
    mediator_of,
    routed,
    routed_event,
)

pytestmark = pytest.mark.integration
MEDIATOR = mediator_of(VILLAGE_COMMITTEE)


def owed(doc: dict) -> list[str]:
    """The types of the events a document owes, each valid against proto/."""
    for entry in doc["outbox"]:
        validate_event(entry["event"])
    return [e["event"]["type"] for e in doc["outbox"]]


def event_of(doc: dict, event_type: str) -> dict:
    return next(e["event"]["data"] for e in reversed(doc["outbox"]) if e["event"]["type"] == event_type)


async def opened(repo, clock, case=None) -> dict:
    case = case or routed()
    await handlers.on_routed(
        routed_event(case, clock), case, repo=repo, rules=RULES, clock=clock, consumer="t"
    )
    return await repo.get(next(d["_id"] for d in await repo.of_case(case.case_id)))


async def act(repo, clock, action, caller=MEDIATOR, mediation_id=None, **details) -> dict:
    return await commands.act(
        mediation_id, action, details, caller=caller, repo=repo, rules=RULES, clock=clock
    )


async def in_progress(repo, clock, case=None) -> dict:
    doc = await opened(repo, clock, case)
    parties = [
        {"role": "applicant", "name": "张三", "consent": True},
        {"role": "respondent", "name": "李四", "consent": True},
    ]
    return await act(repo, clock, "consent", mediation_id=doc["_id"], parties=parties)


async def with_session(repo, clock, case=None) -> dict:
    doc = await in_progress(repo, clock, case)
    return await act(
        repo,
        clock,
        "schedule_session",
        mediation_id=doc["_id"],
        start_at=clock.now(),
        place="村委会调解室",
        participants=[{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
        record={"summary": "现场调解，双方陈述意见", "attendees": ["张三", "李四"]},
    )


async def test_a_confidential_report_opens_no_mediation_and_is_not_kept(repo, clock):
    """Even flagged for mediation (a correction cannot add flags, but an event could say so): the
    place's committee could be the accused."""
    case = routed("secret-1", flags=("mediation", "legal_aid")).model_copy(update={"confidential": True})
    made = await handlers.on_routed(
        routed_event(case, clock), case, repo=repo, rules=RULES, clock=clock, consumer="t"
    )
    await handlers.remember_case(case, repo=repo)  # a later revision, likewise
    assert made == [] and await repo.of_case("secret-1") == [] and await repo.case("secret-1") is None
    assert await repo.referrals_of_case("secret-1") == []


async def test_a_routed_dispute_opens_with_the_village_committee_a_mediator_and_its_time_limit(repo, clock):
    case = routed(flags=("mediation", "legal_aid"))
    event = routed_event(case, clock)
    made = await handlers.on_routed(event, case, repo=repo, rules=RULES, clock=clock, consumer="t")
    again = await handlers.on_routed(event, case, repo=repo, rules=RULES, clock=clock, consumer="t")
    assert len(made) == 2 and again == []  # a redelivered event opens and refers nothing more
    doc = await repo.get(made[0])
    assert (doc["organization"]["code"], doc["type"], doc["status"]) == (
        VILLAGE_COMMITTEE,
        "people",
        "opened",
    )
    seeded = {m.id: m for m in SEED}
    assert "1401" in seeded[doc["mediator"]["id"]].specialties  # the neighbour-dispute specialist
    assert doc["due_at"] == MONDAY + timedelta(days=30)
    data = event_of(doc, subjects.MEDIATION_OPENED)
    assert data["deadline"] == {
        "kind": "mediation",
        "label": "调解期限",
        "due_at": "2026-04-01T01:00:00Z",
        "basis": RULES.policy.time_limit("people").basis,
    }
    assert data["origin"] == "routed" and data["mediator"] == doc["mediator"]
    referral = await repo.referral(made[1])
    assert (referral["kind"], referral["receiving_unit"]["code"], referral["origin"]) == (
        "legal_aid",
        LEGAL_AID,
        "flag",
    )
    assert owed(referral) == [subjects.REFERRAL_MADE]


async def test_a_wage_dispute_goes_to_labour_mediation_and_the_mediator_load_is_counted(repo, clock):
    mediators = [m for m in SEED if m.organization == LABOUR_MEDIATION and m.available]
    for m in mediators:  # an edit of the directory: two open mediations each at most
        await repo.save_mediator(await repo.mediator(m.id), {"max_load": 2})
    room = 2 * len(mediators)
    docs = [
        await opened(repo, clock, routed(f"w{i}", category="05", subcategory="0501")) for i in range(room + 1)
    ]
    assert {d["organization"]["code"] for d in docs} == {LABOUR_MEDIATION}
    assert [d["mediator"]["id"] for d in docs[:room]] == [
        m.id for m in mediators
    ] * 2  # the lighter load first
    assert docs[room]["mediator"] is None  # everyone at their maximum: the organization assigns one
    assert "is not available" in "\n".join(docs[room]["explanation"])  # the one on leave is never chosen
    assert "no mediator of the organization is free" in docs[room]["explanation"][-1]
    assert await repo.loads(LABOUR_MEDIATION) == {m.id: 2 for m in mediators}


async def test_consent_is_recorded_party_by_party_and_a_refusal_ends_it_with_its_next_step(repo, clock):
    doc = await opened(repo, clock)
    with pytest.raises(NotEntitled):
        await act(repo, clock, "consent", DISPATCHER, doc["_id"], parties=[])
    doc = await act(
        repo,
        clock,
        "consent",
        mediation_id=doc["_id"],
        parties=[{"role": "applicant", "name": "张三", "consent": True}],
    )
    assert doc["status"] == "consent_pending"
    with pytest.raises(NotAllowed, match="not allowed in state consent_pending"):
        await act(repo, clock, "schedule_session", mediation_id=doc["_id"], start_at=clock.now(), place="x")
    refusal = {"next_step": "referral", "referral": {"kind": "court", "reason": "对方不同意调解，引导诉讼"}}
    doc = await act(
        repo,
        clock,
        "consent",
        mediation_id=doc["_id"],
        parties=[{"role": "respondent", "name": "李四", "consent": False}],
        next=refusal,
    )
    assert doc["status"] == "refused" and doc["outcome"]["result"] == "refused"
    assert doc["outcome"]["next_step"] == "referral" and doc["open"] is False
    concluded = event_of(doc, subjects.MEDIATION_CONCLUDED)
    assert concluded["result"] == "refused" and concluded["referral"]["receiving_unit"]["code"] == COURT
    consent = event_of(doc, subjects.MEDIATION_CONSENT_RECORDED)
    assert [p["name_masked"] for p in consent["parties"]] == ["张*", "李*"]  # names masked in events
    referral = await repo.referral(doc["referrals"][0])
    assert (referral["kind"], referral["origin"], referral["mediation_id"]) == (
        "court",
        "mediation",
        doc["_id"],
    )
    with pytest.raises(NotAllowed):
        await act(
            repo, clock, "consent", mediation_id=doc["_id"], parties=[{"role": "applicant", "name": "张三"}]
        )


async def test_sessions_are_scheduled_moved_cancelled_and_recorded_each_with_its_event(repo, clock):
    doc = await in_progress(repo, clock)
    assert doc["status"] == "in_progress" and doc["consented_at"] == clock.now()
    later = clock.now() + timedelta(days=2)
    with pytest.raises(NotAllowed, match="place or a video"):
        await act(repo, clock, "schedule_session", mediation_id=doc["_id"], start_at=later)
    with pytest.raises(NotAllowed, match="in the future"):
        await act(repo, clock, "schedule_session", mediation_id=doc["_id"], start_at=clock.now(), place="x")
    invited = [{"role": "lawyer", "name": "王律师"}, {"role": "npc_deputy", "name": "赵代表"}]
    doc = await act(
        repo,
        clock,
        "schedule_session",
        mediation_id=doc["_id"],
        start_at=later,
        place="村调解室",
        participants=invited,
    )
    scheduled = event_of(doc, subjects.MEDIATION_SESSION_SCHEDULED)
    assert scheduled["session"]["no"] == 1 and scheduled["session"]["participants"][0] == {
        "role": "lawyer",
        "name_masked": "王**",
    }
    doc = await act(
        repo,
        clock,
        "reschedule_session",
        mediation_id=doc["_id"],
        no=1,
        start_at=later + timedelta(days=1),
        video=True,
        video_link="https://meet.example/1",
        reason="当事人外出",
    )
    moved = event_of(doc, subjects.MEDIATION_SESSION_RESCHEDULED)
    assert (
        moved["previous_start_at"] == later.isoformat().replace("+00:00", "Z") and moved["session"]["video"]
    )
    doc = await act(
        repo, clock, "schedule_session", mediation_id=doc["_id"], start_at=later, place="镇司法所"
    )
    doc = await act(repo, clock, "cancel_session", mediation_id=doc["_id"], no=2, reason="合并到第一次")
    with pytest.raises(NotAllowed, match="once it has started"):
        await act(repo, clock, "record_session", mediation_id=doc["_id"], no=1, record={"summary": "提前"})
    with pytest.raises(NotAllowed, match="is cancelled"):
        await act(
            repo, clock, "reschedule_session", mediation_id=doc["_id"], no=2, start_at=later, reason="再开"
        )
    clock.advance(timedelta(days=3, hours=1))
    doc = await act(
        repo, clock, "record_session", mediation_id=doc["_id"], no=1, record={"summary": "双方达成初步意向"}
    )
    assert [s["status"] for s in doc["sessions"]] == ["held", "cancelled"]
    assert "双方达成初步意向" not in json.dumps(doc["sessions"], ensure_ascii=False, default=str)  # sealed
    opened = opened_record(RULES.keys, doc["_id"], doc["sessions"][0]["record"])
    assert opened is not None and opened["summary"] == "双方达成初步意向"
    assert owed(doc)[-4:] == [
        subjects.MEDIATION_SESSION_RESCHEDULED,
        subjects.MEDIATION_SESSION_SCHEDULED,
        subjects.MEDIATION_SESSION_CANCELLED,
        subjects.MEDIATION_SESSION_HELD,
    ]
    with pytest.raises(opening.MediationNotFound):  # another organization does not even see it
        await act(repo, clock, "cancel_session", mediator_of(TOWN_COMMITTEE), doc["_id"], no=1, reason="别人")
    with pytest.raises(NotEntitled):  # a dispatcher sees it, but sessions are the organization's
        await act(repo, clock, "cancel_session", DISPATCHER, doc["_id"], no=1, reason="调度")


async def test_an_agreement_makes_its_document_and_is_checked_once_when_its_date_passes(repo, clock):
    doc = await with_session(repo, clock)
    with pytest.raises(NotAllowed, match="today or later"):
        await act(
            repo,
            clock,
            "conclude",
            mediation_id=doc["_id"],
            result="agreed",
            facts="f",
            terms=["t"],
            fulfilment_method="m",
            fulfilment_due=date(2026, 3, 1),
        )
    clock.advance(timedelta(days=4))
    doc = await act(
        repo,
        clock,
        "conclude",
        mediation_id=doc["_id"],
        result="agreed",
        facts="两户因排水沟堵塞发生纠纷",
        terms=["李四于3月20日前疏通排水沟", "双方互不追究"],
        fulfilment_method="李四自行疏通",
        fulfilment_due=date(2026, 3, 20),
    )
    assert doc["status"] == "agreed" and doc["outcome"]["duration_days"] == 4.0
    stored = await repo.get(doc["_id"])
    assert "张三" not in json.dumps(stored, ensure_ascii=False, default=str)  # names and document encrypted
    assert [p["name_masked"] for p in stored["parties"]] == ["张*", "李*"]
    html = opened_document(RULES.keys, doc["_id"], doc["agreement"])
    assert "人民调解协议书" in html and "李四于3月20日前疏通排水沟" in html and "张三" in html
    assert doc["agreement"]["check_at"] == datetime(2026, 3, 20, 16, 0, tzinfo=UTC)  # 24:00 in the county
    agreed = event_of(doc, subjects.MEDIATION_CONCLUDED)
    assert agreed["agreement"]["fulfilment_due"] == "2026-03-20" and agreed["next_step"] == "fulfilment"
    assert await scanner.scan(repo=repo, clock=clock) == 0
    clock.set(doc["agreement"]["check_at"] + timedelta(minutes=1))
    acted = await asyncio.gather(*(scanner.scan(repo=repo, clock=clock) for _ in range(3)))
    assert sum(acted) == 1  # three scanners at once act once: the key is stored under the version guard
    doc = await repo.get(doc["_id"])
    assert owed(doc).count(subjects.MEDIATION_FULFILMENT_DUE) == 1 and doc["next_alarm_ts"] is None
    assert await scanner.scan(repo=repo, clock=clock) == 0
    doc = await act(repo, clock, "check_fulfilment", DISPATCHER, doc["_id"], fulfilled=True, note="已疏通")
    assert doc["status"] == "fulfilled" and event_of(doc, subjects.MEDIATION_FULFILMENT_CHECKED)["fulfilled"]


async def test_an_unfulfilled_agreement_goes_to_the_court(repo, clock):
    doc = await with_session(repo, clock)
    doc = await act(
        repo,
        clock,
        "conclude",
        mediation_id=doc["_id"],
        result="agreed",
        facts="借款纠纷",
        terms=["还款"],
        fulfilment_method="转账",
        fulfilment_due=date(2026, 3, 10),
    )
    nxt = {"next_step": "referral", "referral": {"kind": "court", "reason": "申请司法确认"}}
    doc = await act(repo, clock, "check_fulfilment", mediation_id=doc["_id"], fulfilled=False, next=nxt)
    assert doc["status"] == "unfulfilled" and doc["fulfilment"]["next_step"] == "referral"
    assert (await repo.referral(doc["referrals"][0]))["receiving_unit"]["code"] == COURT


@pytest.mark.parametrize(
    ("kind", "unit", "extra"),
    [
        ("legal_aid", LEGAL_AID, {"matter_type": "labour", "economic_hardship": True}),
        ("arbitration", ARBITRATION, {}),
        ("court", COURT, {}),
        ("counselling", COUNSELLING, {"risk_level": "medium"}),
    ],
)
async def test_no_agreement_refers_the_case_to_each_track(repo, clock, kind, unit, extra):
    doc = await with_session(repo, clock, routed(f"fail-{kind}"))
    nxt = {"next_step": "referral", "referral": {"kind": kind, "reason": "调解不成"} | extra}
    doc = await act(
        repo, clock, "conclude", mediation_id=doc["_id"], result="failed", reason="双方分歧大", next=nxt
    )
    assert doc["status"] == "failed" and doc["outcome"]["next_step"] == "referral"
    referral = await repo.referral(doc["referrals"][0])
    assert (referral["kind"], referral["receiving_unit"]["code"], referral["status"]) == (kind, unit, "made")
    assert "转介函" in referral["letter_html"]
    concluded = event_of(doc, subjects.MEDIATION_CONCLUDED)
    assert concluded["referral"] == {
        "referral_id": referral["_id"],
        "kind": kind,
        "receiving_unit": referral["receiving_unit"],
    }
    # a failure that goes back to the lead unit's handling makes no referral
    other = await with_session(repo, clock, routed(f"back-{kind}"))
    other = await act(repo, clock, "conclude", mediation_id=other["_id"], result="failed", reason="不成")
    assert other["referrals"] == [] and other["outcome"]["next_step"] == "handling"


async def test_a_dispute_that_grows_warns_and_brings_in_the_police_station(repo, clock):
    doc = await in_progress(repo, clock)
    with pytest.raises(NotAllowed, match="at least 5 people"):
        await act(repo, clock, "escalate", mediation_id=doc["_id"], reason="争吵", people_count=2)
    doc = await act(
        repo,
        clock,
        "escalate",
        mediation_id=doc["_id"],
        reason="对方纠集多人并扬言报复",
        people_count=8,
        threats=True,
    )
    assert doc["status"] == "escalated"
    data = event_of(doc, subjects.MEDIATION_ESCALATED)
    assert data["police_station"]["code"] == POLICE_STATION and len(data["warning"]["reasons"]) == 2
    assert doc["partner_units"] == [POLICE_STATION]
    police = handler_of(POLICE_STATION)
    assert may_see(police, doc) and not may_see(handler_of("990102102-PCS"), doc)
    with pytest.raises(NotAllowed, match="not allowed in state escalated"):
        await act(repo, clock, "escalate", mediation_id=doc["_id"], reason="again", threats=True)
    doc = await act(
        repo,
        clock,
        "schedule_session",
        mediation_id=doc["_id"],
        start_at=clock.now(),
        place="派出所",
        record={"summary": "警调联动调解"},
    )
    doc = await act(repo, clock, "conclude", mediation_id=doc["_id"], result="failed", reason="不成")
    assert doc["status"] == "failed"


async def test_the_time_limit_raises_overdue_once_and_dispatchers_move_a_mediation(repo, clock):
    doc = await opened(repo, clock)
    with pytest.raises(NotEntitled, match="only a dispatcher"):
        await opening.assign(
            doc["_id"],
            caller=MEDIATOR,
            repo=repo,
            rules=RULES,
            clock=clock,
            organization=TOWN_COMMITTEE,
            mediator=None,
            reason="移交",
        )
    doc = await opening.assign(
        doc["_id"],
        caller=DISPATCHER,
        repo=repo,
        rules=RULES,
        clock=clock,
        organization=TOWN_COMMITTEE,
        mediator=None,
        reason="矛盾较大，移交镇调委会",
    )
    assert doc["organization"]["code"] == TOWN_COMMITTEE and doc["mediator"] is not None
    assigned = event_of(doc, subjects.MEDIATION_ASSIGNED)
    assert assigned["previous_organization"]["code"] == VILLAGE_COMMITTEE
    clock.advance(timedelta(days=31))
    assert await scanner.scan(repo=repo, clock=clock) == 1
    assert await scanner.scan(repo=repo, clock=clock) == 0
    overdue = event_of(await repo.get(doc["_id"]), subjects.MEDIATION_OVERDUE)
    assert overdue["deadline"]["due_at"] == "2026-04-01T01:00:00Z"


async def test_a_unit_of_the_case_or_a_dispatcher_opens_one_mediation_at_a_time(repo, clock):
    case = routed("req", flags=())
    await handlers.on_routed(
        routed_event(case, clock), case, repo=repo, rules=RULES, clock=clock, consumer="t"
    )
    assert await repo.of_case("req") == []  # not flagged: nothing opened, but the case is known
    kw = {"repo": repo, "rules": RULES, "clock": clock, "organization": None, "language": None, "note": None}
    with pytest.raises(opening.MediationNotFound):
        await opening.request_mediation("req", caller=handler_of("990102102-GOV"), requested=None, **kw)
    with pytest.raises(PermissionError):  # the reception reads mediations; the table lets it open none
        granted(CLERK, "mediation", "POST /v1/mediations")
    doc = await opening.request_mediation(
        "req", caller=handler_of(case.lead_unit.code), requested="police", **kw
    )
    assert (doc["type"], doc["origin"], doc["organization"]["code"]) == (
        "police",
        "unit_request",
        f"{POLICE_STATION}-TJS",
    )
    with pytest.raises(NotAllowed, match="one at a time"):
        await opening.request_mediation("req", caller=DISPATCHER, requested="court", **kw)
    doc = await act(
        repo,
        clock,
        "consent",
        mediator_of(f"{POLICE_STATION}-TJS"),
        doc["_id"],
        parties=[{"role": "applicant", "name": "甲", "consent": False}],
    )
    second = await opening.request_mediation("req", caller=DISPATCHER, requested="court", **kw)
    assert (
        second["type"] == "court"
        and second["_id"] != doc["_id"]
        and second["time_limit"]["label"] == "诉前调解期限"
    )
