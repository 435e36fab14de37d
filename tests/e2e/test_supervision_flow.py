"""A unit works a case through the running platform: worklist, sign, progress, reply, follow-up."""

import pytest

from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e


def assigned_case(clerk, dispatcher, samples) -> tuple[str, dict]:
    sample = next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"])
    r = clerk.post(
        "intake",
        "/v1/cases",
        json=submission(sample, channel="petition_letter", petitioner={"name": "测试人"}),
    )
    assert r.status_code == 201, r.text
    case = settled_case_file(dispatcher, r.json()["case_id"])
    assert case["status"] == "assigned", case
    return case["case_id"], case


def test_a_unit_signs_replies_and_the_petitioner_rates_it(clerk, dispatcher, as_role, samples):
    case_id, case = assigned_case(clerk, dispatcher, samples)
    lead = case["lead_unit"]["code"]
    unit = as_role("unit_handler", lead)

    listed = unit.get("supervision", "/v1/worklist").json()
    line = next(i for i in listed["items"] if i["case_id"] == case_id)
    assert line["role"] == "lead" and line["due_kind"] == "sign" and line["status"] == "assigned"
    deadlines = {d["kind"]: d for d in case["deadlines"]}
    assert {"acceptance_notice", "sign", "objection", "handling"} <= set(deadlines)
    assert deadlines["acceptance_notice"]["met_at"] is not None  # screening decided it at intake

    assert (
        unit.post(
            "supervision", f"/v1/cases/{case_id}/reply", json={"result": "resolved", "text": "已办"}
        ).status_code
        == 409
    )
    r = unit.post("supervision", f"/v1/cases/{case_id}/sign", json={})
    assert r.status_code == 200 and r.json()["status"] == "signed", r.text
    assert unit.post("supervision", f"/v1/cases/{case_id}/sign", json={}).status_code == 409
    r = unit.post("supervision", f"/v1/cases/{case_id}/progress", json={"note": "已联系相关部门"})
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = unit.post("supervision", f"/v1/cases/{case_id}/extension", json={"days": 40, "reason": "需要协调"})
    assert r.status_code == 409 and "30" in r.json()["detail"]
    r = unit.post(
        "supervision", f"/v1/cases/{case_id}/reply", json={"result": "resolved", "text": "问题已解决。"}
    )
    assert r.status_code == 200 and r.json()["status"] == "replied", r.text
    page = unit.get("supervision", f"/v1/cases/{case_id}/reply-document")
    assert page.status_code == 200 and "答复意见书" in page.text and case["case_no"] in page.text
    assert "测试人" not in page.text

    assert (
        unit.post("supervision", f"/v1/cases/{case_id}/followup", json={"rating": "satisfied"}).status_code
        == 403
    )
    r = clerk.post("supervision", f"/v1/cases/{case_id}/followup", json={"rating": "basically_satisfied"})
    assert r.status_code == 200 and r.json()["rating"]["label"] == "基本满意"
    r = dispatcher.post("supervision", f"/v1/cases/{case_id}/close", json={})
    assert r.status_code == 200 and r.json()["status"] == "closed"

    def timeline_has_all():
        kinds = [e["type"] for e in dispatcher.get("supervision", f"/v1/cases/{case_id}").json()["timeline"]]
        wanted = [
            "dispatch.case.signed",
            "dispatch.case.progressed",
            "dispatch.case.replied",
            "dispatch.case.followed_up",
            "dispatch.case.closed",
        ]
        return kinds if all(k in kinds for k in wanted) else None

    wait_for(timeline_has_all, what="the lifecycle events on the timeline")
    closed = unit.get("supervision", "/v1/worklist").json()["items"]
    assert case_id not in [i["case_id"] for i in closed]  # closed cases leave the open list
    everything = unit.get("supervision", "/v1/worklist?open=false").json()["items"]
    assert case_id in [i["case_id"] for i in everything]


def test_the_worklist_is_scoped_to_the_callers_unit(clerk, dispatcher, as_role, samples):
    case_id, case = assigned_case(clerk, dispatcher, samples)
    stranger = as_role("unit_handler", "no-such-unit")
    assert case_id not in [i["case_id"] for i in stranger.get("supervision", "/v1/worklist").json()["items"]]
    assert stranger.get("supervision", f"/v1/cases/{case_id}").status_code == 404
    assert stranger.post("supervision", f"/v1/cases/{case_id}/sign", json={}).status_code == 404
    assert clerk.get("supervision", "/v1/worklist").status_code == 403
    assert dispatcher.get("supervision", "/v1/worklist").status_code == 422  # a county role names a unit
    lead = case["lead_unit"]["code"]
    named = dispatcher.get("supervision", f"/v1/worklist?unit={lead}").json()["items"]
    assert case_id in [i["case_id"] for i in named]
    overdue = dispatcher.get("supervision", f"/v1/worklist?unit={lead}&overdue=true").json()["items"]
    assert case_id not in [i["case_id"] for i in overdue]


def test_kpis_by_unit_as_json_and_csv_scoped_for_a_unit_leader(clerk, dispatcher, as_role, samples):
    _, case = assigned_case(clerk, dispatcher, samples)
    lead = case["lead_unit"]["code"]
    supervisor = as_role("supervisor")

    def row_of_lead():
        rows = supervisor.get("supervision", "/v1/kpis?group_by=unit").json()["rows"]
        return next((r for r in rows if r["unit"] == lead), None)

    row = wait_for(row_of_lead, what="the lead unit's KPI row")
    assert row["counts"]["assigned"] >= 1 and 0 <= (row["response_rate"] or 0) <= 1
    csv = supervisor.get("supervision", "/v1/kpis?group_by=town&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("town,assigned,response_rate")
    own = as_role("unit_leader", lead).get("supervision", "/v1/kpis?group_by=unit").json()["rows"]
    assert [r["unit"] for r in own] == [lead]
    assert as_role("unit_handler", lead).get("supervision", "/v1/kpis").status_code == 403
    assert supervisor.get("supervision", "/v1/kpis?from=2026-13").status_code == 422


def test_a_unit_asked_to_assist_sees_the_case_and_posts_progress(clerk, dispatcher, as_role, samples):
    import json

    from dispatch_common.paths import DATA_DIR

    case_id, case = assigned_case(clerk, dispatcher, samples)
    lead = as_role("unit_handler", case["lead_unit"]["code"])
    on_case = {case["lead_unit"]["code"], *(u["code"] for u in case["assisting_units"])}
    units = json.loads((DATA_DIR / "county" / "990102" / "units.json").read_text(encoding="utf-8"))
    other = next(u["code"] for u in units if u["code"] not in on_case and u["level"] == "county")
    helper = as_role("unit_handler", other)
    assert helper.get("supervision", f"/v1/cases/{case_id}").status_code == 404
    assert lead.post("supervision", f"/v1/cases/{case_id}/sign", json={}).status_code == 200
    r = lead.post(
        "supervision", f"/v1/cases/{case_id}/assistance", json={"units": ["NO-SUCH"], "note": "请协办"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "units", 0]
    r = lead.post("supervision", f"/v1/cases/{case_id}/assistance", json={"units": [other], "note": "请协办"})
    assert r.status_code == 200 and other in [u["code"] for u in r.json()["assisting_units"]], r.text
    assert helper.get("supervision", f"/v1/cases/{case_id}").status_code == 200
    r = helper.post("supervision", f"/v1/cases/{case_id}/progress", json={"note": "已配合核查"})
    assert r.status_code == 200, r.text
    assert case_id in [i["case_id"] for i in helper.get("supervision", "/v1/worklist").json()["items"]]
