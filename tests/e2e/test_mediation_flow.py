"""Mediation through the running platform: a civil dispute is mediated to an agreement, another fails
and is referred to legal aid, a counselling referral raises a crisis; supervision's case file shows
each event on the timeline."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e


def sample(samples, *flags):
    return next(s for s in samples if s["expect"].get("village") and set(flags) <= set(s["expect"]["flags"]))


def mediated_case(clerk, dispatcher, case_sample) -> tuple[str, dict]:
    r = clerk.post("intake", "/v1/cases", json=submission(case_sample))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    settled_case_file(dispatcher, case_id)

    def mediation():
        items = dispatcher.get("mediation", "/v1/mediations", params={"case_id": case_id}).json()["items"]
        return items[0] if items else None

    return case_id, wait_for(mediation, what="the mediation of the dispute")


def on_timeline(dispatcher, case_id, *types) -> list[str]:
    def probe():
        kinds = [e["type"] for e in dispatcher.get("supervision", f"/v1/cases/{case_id}").json()["timeline"]]
        return kinds if all(t in kinds for t in types) else None

    return wait_for(probe, what=f"{types} on the case file's timeline")


PARTIES = [
    {"role": "applicant", "name": "张三", "consent": True},
    {"role": "respondent", "name": "李四", "consent": True},
]


def held_session(mediator, mediation_id) -> None:
    body = {
        "start_at": datetime.now(UTC).isoformat(),
        "place": "村委会调解室",
        "participants": [{"role": "applicant", "name": "张三"}, {"role": "cppcc_member", "name": "赵委员"}],
        "record": {"summary": "现场调解，双方陈述并协商", "attendees": ["张三", "李四", "赵委员"]},
    }
    r = mediator.post("mediation", f"/v1/mediations/{mediation_id}/sessions", json=body)
    assert r.status_code == 201, r.text


def test_a_dispute_is_mediated_to_an_agreement_and_supervision_sees_every_step(
    clerk, dispatcher, as_role, samples
):
    case_id, mediation = mediated_case(clerk, dispatcher, sample(samples, "mediation"))
    org = mediation["organization"]
    assert (mediation["type"], mediation["status"], org["type"]) == ("people", "opened", "people")
    assert mediation["mediator"] is not None and mediation["due_at"]
    mediator = as_role("mediator", org["code"])
    mid = mediation["id"]
    assert as_role("mediator", "990102-LDTJW").get("mediation", f"/v1/mediations/{mid}").status_code == 404
    assert (
        dispatcher.post("mediation", f"/v1/mediations/{mid}/consent", json={"parties": PARTIES}).status_code
        == 403
    )
    r = mediator.post("mediation", f"/v1/mediations/{mid}/consent", json={"parties": PARTIES})
    assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = mediator.post("mediation", f"/v1/mediations/{mid}/sessions", json={"start_at": later, "video": True})
    assert r.status_code == 201
    r = mediator.post(
        "mediation", f"/v1/mediations/{mid}/sessions/1/reschedule", json={"start_at": later, "reason": "改期"}
    )
    assert r.status_code == 200
    r = mediator.post("mediation", f"/v1/mediations/{mid}/sessions/1/cancel", json={"reason": "改为现场调解"})
    assert r.json()["sessions"][0]["status"] == "cancelled"
    held_session(mediator, mid)
    due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    outcome = {
        "result": "agreed",
        "facts": "两户因排水沟堵塞发生口角",
        "terms": ["李四于十日内疏通排水沟", "双方互不追究"],
        "fulfilment_method": "李四自行疏通",
        "fulfilment_due": due,
    }
    r = mediator.post("mediation", f"/v1/mediations/{mid}/outcome", json=outcome)
    assert r.status_code == 200, r.text
    one = dispatcher.get("mediation", f"/v1/mediations/{mid}").json()
    assert one["status"] == "agreed" and one["outcome"]["result"] == "agreed"
    assert [s["status"] for s in one["sessions"]] == ["cancelled", "held"]
    assert one["agreement"]["fulfilment_due"] == due and "document_html" not in one["agreement"]
    # stored encrypted, the names and the record read in clear by those who may see the mediation
    assert [(p["role"], p["name"]) for p in one["parties"]] == [("applicant", "张三"), ("respondent", "李四")]
    held = one["sessions"][1]
    assert held["record"]["attendees"] == ["张三", "李四", "赵委员"]
    assert [p["name"] for p in held["participants"]] == ["张三", "赵委员"]
    page = mediator.get("mediation", f"/v1/mediations/{mid}/agreement")
    assert page.status_code == 200 and "人民调解协议书" in page.text and org["name"] in page.text
    assert "张三" in page.text and "李四" in page.text
    assert mediator.post("mediation", f"/v1/mediations/{mid}/outcome", json=outcome).status_code == 409

    def notices(kind):
        items = dispatcher.get("notify", "/v1/notifications", params={"case_id": case_id}).json()["items"]
        return [n for n in items if n["kind"] == kind] or None

    # the petitioner and the organization hear of the cancelled session and of the agreement
    told = wait_for(lambda: notices("mediation_outcome"), what="the notices of the mediation's outcome")
    assert any("达成调解协议" in n["body"] for n in told)
    sessions = wait_for(lambda: notices("mediation_session"), what="the session notices")
    assert any("已取消" in n["body"] for n in sessions)
    on_timeline(
        dispatcher,
        case_id,
        "dispatch.mediation.opened",
        "dispatch.mediation.consent_recorded",
        "dispatch.mediation.session_scheduled",
        "dispatch.mediation.session_rescheduled",
        "dispatch.mediation.session_cancelled",
        "dispatch.mediation.session_held",
        "dispatch.mediation.concluded",
    )


def test_a_failed_mediation_goes_to_legal_aid_which_accepts_reviews_and_closes_it(
    clerk, dispatcher, as_role, samples
):
    case_id, mediation = mediated_case(clerk, dispatcher, sample(samples, "mediation"))
    mediator = as_role("mediator", mediation["organization"]["code"])
    mid = mediation["id"]
    mediator.post("mediation", f"/v1/mediations/{mid}/consent", json={"parties": PARTIES})
    held_session(mediator, mid)
    failed = {
        "result": "failed",
        "reason": "对赔偿数额分歧较大",
        "next": {
            "next_step": "referral",
            "referral": {"kind": "legal_aid", "reason": "申请人经济困难", "matter_type": "personal_injury"},
        },
    }
    r = mediator.post("mediation", f"/v1/mediations/{mid}/outcome", json=failed)
    assert r.status_code == 200 and r.json()["status"] == "failed", r.text
    referrals = dispatcher.get("mediation", "/v1/referrals", params={"case_id": case_id}).json()["items"]
    assert [(x["kind"], x["status"], x["origin"]) for x in referrals] == [("legal_aid", "made", "mediation")]
    referral = referrals[0]
    center = as_role("unit_handler", referral["receiving_unit"]["code"])
    rid = referral["id"]
    assert "转介函" in center.get("mediation", f"/v1/referrals/{rid}/letter").text
    assert center.post("mediation", f"/v1/referrals/{rid}/accept", json={}).json()["status"] == "accepted"
    review = {"matter_type": "personal_injury", "economic_hardship": True}
    assert center.post("mediation", f"/v1/referrals/{rid}/review", json=review).json()["review"]["eligible"]
    center.post("mediation", f"/v1/referrals/{rid}/assign", json={"name": "王律师"})
    r = center.post(
        "mediation", f"/v1/referrals/{rid}/close", json={"result": "resolved", "note": "已代理诉讼"}
    )
    assert r.json()["status"] == "closed"
    on_timeline(
        dispatcher,
        case_id,
        "dispatch.mediation.concluded",
        "dispatch.referral.made",
        "dispatch.referral.accepted",
        "dispatch.referral.closed",
    )


def test_a_counselling_referral_raises_a_crisis_and_a_dispatcher_asks_for_court_mediation(
    clerk, dispatcher, as_role, samples
):
    case_id, mediation = mediated_case(clerk, dispatcher, sample(samples, "mediation", "psych"))

    def counselling():
        items = dispatcher.get("mediation", "/v1/referrals", params={"case_id": case_id}).json()["items"]
        return next((x for x in items if x["kind"] == "counselling"), None)

    referral = wait_for(counselling, what="the counselling referral routing's psych flag made")
    center = as_role("unit_handler", referral["receiving_unit"]["code"])
    rid = referral["id"]
    assert center.post("mediation", f"/v1/referrals/{rid}/accept", json={}).status_code == 200
    center.post("mediation", f"/v1/referrals/{rid}/assign", json={"name": "刘咨询师"})
    r = center.post("mediation", f"/v1/referrals/{rid}/sessions", json={"note": "评估", "risk_level": "high"})
    assert r.json()["sessions"] == 1 and r.json()["risk_level"] == "high"
    r = center.post("mediation", f"/v1/referrals/{rid}/crisis", json={"note": "当事人流露轻生念头"})
    assert r.status_code == 200 and r.json()["crisis"] is not None
    on_timeline(dispatcher, case_id, "dispatch.referral.made", "dispatch.referral.crisis")

    # supervision raises a crisis warning at once, and notify tells the supervisors (urgent)
    def crisis_warning():
        items = as_role("supervisor").get("supervision", "/v1/warnings?kind=crisis").json()["items"]
        return next((w for w in items if w.get("case_id") == case_id), None)

    warning = wait_for(crisis_warning, what="the crisis warning")
    assert warning["source_id"] == rid

    def warning_notice():
        items = dispatcher.get("notify", "/v1/notifications", params={"case_id": case_id}).json()["items"]
        return [n for n in items if n["kind"] == "warning"] or None

    assert wait_for(warning_notice, what="the notice of the crisis warning")

    body = {"case_id": case_id, "type": "court", "note": "当事人要求诉前调解"}
    assert dispatcher.post("mediation", "/v1/mediations", json=body).status_code == 409  # one at a time
    mediator = as_role("mediator", mediation["organization"]["code"])
    refusal = {"parties": [{"role": "respondent", "name": "家属", "consent": False}], "note": "家属拒绝"}
    assert (
        mediator.post("mediation", f"/v1/mediations/{mediation['id']}/consent", json=refusal).json()["status"]
        == "refused"
    )
    r = dispatcher.post("mediation", "/v1/mediations", json=body)
    assert r.status_code == 201 and r.json()["type"] == "court" and r.json()["origin"] == "dispatcher", r.text
    assert (
        len(dispatcher.get("mediation", "/v1/mediations", params={"case_id": case_id}).json()["items"]) == 2
    )
