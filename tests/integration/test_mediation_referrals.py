"""The legal aid and counselling tracks on the real (embedded) MongoDB server: each referral is
tracked until the receiving center accepts and closes it, and a crisis alerts at once."""

import pytest

from dispatch_common import subjects
from dispatch_common.auth import granted
from dispatch_common.contracts import validate_event
from services.mediation import handlers, referral_commands
from services.mediation.domain.lifecycle import NotAllowed
from services.mediation.domain.models import ReferralRequest
from tests.mediation_cases import (
    CLERK,
    COUNSELLING,
    DISPATCHER,
    LEGAL_AID,
    POLICE_STATION,
    RULES,
    TOWN,
    VILLAGE,
    handler_of,
    mediator_of,
    routed,
    routed_event,
)

pytestmark = pytest.mark.integration
AID = handler_of(LEGAL_AID)
CENTER = handler_of(COUNSELLING)


def events(doc: dict) -> list[dict]:
    for entry in doc["outbox"]:
        validate_event(entry["event"])
    return [e["event"] for e in doc["outbox"]]


async def referral(repo, clock, kind, case_id="r1", **request) -> dict:
    case = routed(case_id, flags=())
    await handlers.remember_case(case, repo=repo)
    made = await referral_commands.refer(
        case_id,
        ReferralRequest(kind=kind, reason="需要帮助", **request),
        caller=DISPATCHER,
        repo=repo,
        rules=RULES,
        clock=clock,
        referral_id=f"{case_id}-{kind}",
    )
    return await repo.referral(made["_id"])


async def step(repo, clock, doc, step_name, caller, /, **details) -> dict:
    return await referral_commands.step(
        doc["_id"], step_name, details, caller=caller, repo=repo, rules=RULES, clock=clock
    )


async def test_legal_aid_is_reviewed_against_the_checklist_a_lawyer_assigned_and_closed(repo, clock):
    doc = await referral(repo, clock, "legal_aid", matter_type="labour", economic_hardship=True)
    assert doc["receiving_unit"]["code"] == LEGAL_AID and doc["application"]["matter_type"] == "labour"
    with pytest.raises(PermissionError):  # the center's staff accept, not its mediators (the table)
        granted(mediator_of(LEGAL_AID), "mediation", "POST /v1/referrals/{referral_id}/accept")
    doc = await step(repo, clock, doc, "accept", AID)
    with pytest.raises(NotAllowed, match="after the application passed its review"):
        await step(repo, clock, doc, "assign", AID, name="王律师")
    with pytest.raises(NotAllowed, match="经济困难"):
        await step(
            repo, clock, doc, "review", AID, matter_type="labour", economic_hardship=False, approve=True
        )
    doc = await step(repo, clock, doc, "review", AID, matter_type="labour", economic_hardship=True)
    assert doc["review"]["eligible"] is True and doc["status"] == "accepted"
    doc = await step(repo, clock, doc, "assign", AID, name="王律师")
    doc = await step(repo, clock, doc, "close", AID, result="resolved", note="已追回工资")
    assert (doc["status"], doc["result"], doc["handler"]["name"]) == ("closed", "resolved", "王律师")
    types = [e["type"] for e in events(doc)]
    assert types == [subjects.REFERRAL_MADE, subjects.REFERRAL_ACCEPTED, subjects.REFERRAL_CLOSED]
    closed = events(doc)[-1]["data"]
    assert closed["handler"] == {"name": "王律师"} and closed["result"] == "resolved"
    with pytest.raises(NotAllowed):
        await step(repo, clock, doc, "close", AID, result="resolved")


async def test_an_application_that_fails_the_review_is_closed_not_eligible(repo, clock):
    doc = await referral(repo, clock, "legal_aid")
    doc = await step(repo, clock, doc, "accept", AID)
    doc = await step(
        repo, clock, doc, "review", AID, matter_type="labour", economic_hardship=False, approve=False
    )
    assert (doc["status"], doc["result"]) == ("closed", "not_eligible")
    assert "经济困难" in doc["review"]["reasons"][0]
    assert events(doc)[-1]["type"] == subjects.REFERRAL_CLOSED


async def test_counselling_counts_sessions_and_a_crisis_alerts_supervision_and_the_police_at_once(
    repo, clock
):
    doc = await referral(repo, clock, "counselling", risk_level="medium")
    assert doc["receiving_unit"]["code"] == COUNSELLING and doc["risk_level"] == "medium"
    with pytest.raises(NotAllowed, match="only for legal_aid"):
        await step(repo, clock, doc, "review", CENTER, matter_type="labour", economic_hardship=True)
    doc = await step(repo, clock, doc, "accept", CENTER)
    doc = await step(repo, clock, doc, "assign", CENTER, name="刘咨询师")
    doc = await step(repo, clock, doc, "record_session", CENTER, note="情绪稳定")
    doc = await step(repo, clock, doc, "record_session", CENTER, note="出现轻生念头", risk_level="crisis")
    assert doc["sessions"] == 2 and doc["crisis"] is not None
    crisis = [e for e in events(doc) if e["type"] == subjects.REFERRAL_CRISIS]
    assert len(crisis) == 1
    data = crisis[0]["data"]
    assert data["police_station"]["code"] == POLICE_STATION and data["risk_level"] == "crisis"
    assert data["jurisdiction"] == {"town": TOWN, "village": VILLAGE}
    doc = await step(repo, clock, doc, "close", CENTER, result="resolved")
    assert events(doc)[-1]["data"]["sessions"] == 2


async def test_a_referral_made_at_the_crisis_level_alerts_in_the_same_write(repo, clock):
    doc = await referral(repo, clock, "counselling", risk_level="crisis")
    types = [e["type"] for e in events(doc)]
    assert types == [subjects.REFERRAL_MADE, subjects.REFERRAL_CRISIS]
    with pytest.raises(NotAllowed, match="risk level must be one of"):
        await referral(repo, clock, "counselling", case_id="r2", risk_level="grave")
    with pytest.raises(NotAllowed, match="belongs to counselling"):
        await referral(repo, clock, "court", case_id="r3", risk_level="low")


async def test_routing_s_psych_flag_makes_a_referral_on_which_a_dispatcher_raises_a_crisis(repo, clock):
    case = routed("p1", flags=("psych",))
    made = await handlers.on_routed(
        routed_event(case, clock), case, repo=repo, rules=RULES, clock=clock, consumer="t"
    )
    doc = await repo.referral(made[0])
    assert (doc["kind"], doc["risk_level"], doc["origin"]) == ("counselling", "unassessed", "flag")
    with pytest.raises(referral_commands.ReferralNotFound):  # the police station does not see it
        await step(repo, clock, doc, "crisis", handler_of(POLICE_STATION), note="?")
    with pytest.raises(PermissionError):  # the reception sees every referral, but does not raise crises
        granted(CLERK, "mediation", "POST /v1/referrals/{referral_id}/crisis")
    doc = await step(repo, clock, doc, "crisis", DISPATCHER, note="来电称要轻生")
    assert doc["risk_level"] == "crisis" and events(doc)[-1]["type"] == subjects.REFERRAL_CRISIS
