"""The mediation service on the real nats-server and embedded MongoDB server, driven over its HTTP API
in process: a routed dispute opens a mediation through the durable consumer, every step is
published on the stream as the events supervision and notify consume, and the figures endpoint
answers known figures for seeded mediations."""

from datetime import timedelta

import pytest

from dispatch_common import subjects
from tests.helpers import events_on, eventually
from tests.mediation_cases import (
    COUNSELLING,
    LABOUR_MEDIATION,
    MONDAY,
    POLICE_STATION,
    TOWN,
    VILLAGE_COMMITTEE,
)
from tests.mediation_support import opened_by_routing

pytestmark = pytest.mark.integration


async def test_a_routed_dispute_is_mediated_to_an_agreement_and_every_step_is_on_the_stream(
    mediation_service, nats_client
):
    clock, client = mediation_service.clock, mediation_service.client
    mediation = await opened_by_routing(mediation_service, "case-a", flags=("mediation", "psych"))
    assert mediation["organization"]["code"] == VILLAGE_COMMITTEE and mediation["status"] == "opened"
    mid = mediation["id"]
    async with (
        client("mediator", VILLAGE_COMMITTEE) as mediator,
        client("mediator", LABOUR_MEDIATION) as other,
    ):
        assert (await other.get(f"/v1/mediations/{mid}")).status_code == 404
        r = await mediator.post(
            f"/v1/mediations/{mid}/sessions", json={"start_at": "2027-01-01T00:00:00Z", "place": "x"}
        )
        assert r.status_code == 409  # no consent yet
        parties = [
            {"role": "applicant", "name": "张三", "consent": True},
            {"role": "respondent", "name": "李四", "consent": True},
        ]
        r = await mediator.post(f"/v1/mediations/{mid}/consent", json={"parties": parties})
        assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text
        start = (clock.now() + timedelta(days=1)).isoformat()
        body = {"start_at": start, "place": "村委会", "participants": [{"role": "lawyer", "name": "王律师"}]}
        r = await mediator.post(f"/v1/mediations/{mid}/sessions", json=body)
        assert r.status_code == 201 and r.json()["sessions"][0]["status"] == "scheduled", r.text
        clock.advance(timedelta(days=1, hours=2))
        r = await mediator.post(f"/v1/mediations/{mid}/sessions/1/record", json={"summary": "双方达成一致"})
        assert r.json()["sessions"][0]["status"] == "held"
        agreement = {
            "result": "agreed",
            "facts": "排水沟纠纷",
            "terms": ["李四疏通排水沟"],
            "fulfilment_method": "自行疏通",
            "fulfilment_due": (clock.now() + timedelta(days=5)).date().isoformat(),
        }
        assert (
            await mediator.post(f"/v1/mediations/{mid}/outcome", json={"result": "agreed"})
        ).status_code == 422
        r = await mediator.post(f"/v1/mediations/{mid}/outcome", json=agreement)
        assert r.status_code == 200 and r.json()["status"] == "agreed", r.text
        page = await mediator.get(f"/v1/mediations/{mid}/agreement")
        assert page.status_code == 200 and "人民调解协议书" in page.text and "李四疏通排水沟" in page.text
        clock.advance(timedelta(days=7))  # the scanner (every 0.2 s) finds the fulfilment date passed

        async def due():
            return [
                e
                for e in await events_on(nats_client, subjects.MEDIATION_FULFILMENT_DUE)
                if e["subject"] == "case-a"
            ]

        assert len(await eventually(due, what="dispatch.mediation.fulfilment_due")) == 1
        r = await mediator.post(f"/v1/mediations/{mid}/fulfilment", json={"fulfilled": True})
        assert r.json()["status"] == "fulfilled"

    async def stream():
        events = [e for e in await events_on(nats_client, "dispatch.>") if e["subject"] == "case-a"]
        types = [e["type"] for e in events if e["source"] == "/dispatch/mediation"]
        return types if subjects.MEDIATION_FULFILMENT_CHECKED in types else None

    types = await eventually(stream, what="mediation's events on the stream")
    assert subjects.REFERRAL_MADE in types  # the referral is its own document, published beside
    assert [t for t in types if t.startswith("dispatch.mediation.")] == [
        subjects.MEDIATION_OPENED,
        subjects.MEDIATION_CONSENT_RECORDED,
        subjects.MEDIATION_SESSION_SCHEDULED,
        subjects.MEDIATION_SESSION_HELD,
        subjects.MEDIATION_CONCLUDED,
        subjects.MEDIATION_FULFILMENT_DUE,
        subjects.MEDIATION_FULFILMENT_CHECKED,
    ]
    opened = next(
        e for e in await events_on(nats_client, subjects.MEDIATION_OPENED) if e["subject"] == "case-a"
    )
    # what supervision reads (the deadline) and notify reads (organization, opened_at)
    assert opened["data"]["deadline"]["due_at"] == "2026-04-01T01:00:00Z"
    assert {"code", "name", "type"} <= set(opened["data"]["organization"]) and opened["data"]["opened_at"]
    async with client("dispatcher") as dispatcher:
        referrals = (await dispatcher.get("/v1/referrals", params={"case_id": "case-a"})).json()["items"]
        assert [(r["kind"], r["receiving_unit"]["code"]) for r in referrals] == [("counselling", COUNSELLING)]


async def test_a_crisis_and_an_escalation_reach_the_stream_at_once(mediation_service, nats_client):
    client = mediation_service.client
    mediation = await opened_by_routing(mediation_service, "case-b")
    mid = mediation["id"]
    async with client("mediator", VILLAGE_COMMITTEE) as mediator, client("dispatcher") as dispatcher:
        r = await mediator.post(
            f"/v1/mediations/{mid}/escalate", json={"reason": "扬言报复", "threats": True}
        )
        assert r.status_code == 200 and r.json()["status"] == "escalated"
        body = {
            "case_id": "case-b",
            "kind": "counselling",
            "risk_level": "crisis",
            "reason": "当事人称要轻生",
        }
        r = await dispatcher.post("/v1/referrals", json=body, headers={"Idempotency-Key": "k1"})
        again = await dispatcher.post("/v1/referrals", json=body, headers={"Idempotency-Key": "k1"})
        assert r.status_code == again.status_code == 201 and r.json()["id"] == again.json()["id"]
    async with client("unit_handler", POLICE_STATION) as police:
        assert (await police.get(f"/v1/mediations/{mid}")).status_code == 200  # brought in by the escalation

    async def alarms():
        escalated = await events_on(nats_client, subjects.MEDIATION_ESCALATED)
        crisis = await events_on(nats_client, subjects.REFERRAL_CRISIS)
        return (escalated, crisis) if escalated and crisis else None

    escalated, crisis = await eventually(alarms, what="the escalation and the crisis")
    assert escalated[0]["data"]["police_station"]["code"] == POLICE_STATION
    assert len(crisis) == 1 and crisis[0]["data"]["police_station"]["code"] == POLICE_STATION


async def test_mediators_are_edited_by_the_entitled_and_figures_answer_known_values(mediation_service):
    clock, client = mediation_service.clock, mediation_service.client
    async with (
        client("unit_leader", LABOUR_MEDIATION) as leader,
        client("mediator", LABOUR_MEDIATION) as mediator,
    ):
        listed = (await leader.get("/v1/mediators", params={"organization": LABOUR_MEDIATION})).json()[
            "items"
        ]
        first = listed[0]["id"]
        assert (await mediator.patch(f"/v1/mediators/{first}", json={"available": False})).status_code == 403
        r = await leader.patch(f"/v1/mediators/{first}", json={"max_load": 9, "specialties": ["0501"]})
        assert r.status_code == 200 and r.json()["max_load"] == 9 and r.json()["load"] == 0
        assert (
            await leader.patch(f"/v1/mediators/{first}", json={"specialties": ["9999"]})
        ).status_code == 422
        new = {"id": "M9001", "name": "新调解员", "organization": VILLAGE_COMMITTEE, "specialties": ["1401"]}
        assert (await leader.post("/v1/mediators", json=new)).status_code == 403  # not its organization
    async with client("admin") as admin:
        assert (await admin.post("/v1/mediators", json=new)).status_code == 201
        assert (await admin.post("/v1/mediators", json=new)).status_code == 409
        orgs = (await admin.get("/v1/mediation-organizations", params={"type": "police"})).json()["items"]
        assert {o["jurisdiction"] for o in orgs} >= {TOWN}

    # seeded: at the village committee two agreements (3 and 5 days) and one failure (10 days), one
    # refusal; at labour mediation one failure (4 days). Known answers below.
    plan = [
        ("s1", "14", "agreed", 3),
        ("s2", "14", "agreed", 5),
        ("s3", "14", "failed", 10),
        ("s4", "14", "refused", 1),
    ]
    plan.append(("s5", "05", "failed", 4))
    for case_id, category, result, days in plan:
        clock.set(MONDAY)
        sub = "1401" if category == "14" else "0501"
        mediation = await opened_by_routing(mediation_service, case_id, category=category, subcategory=sub)
        org = mediation["organization"]["code"]
        async with client("mediator", org) as mediator:
            mid = mediation["id"]
            answer = result != "refused"
            parties = [
                {"role": "applicant", "name": "甲", "consent": True},
                {"role": "respondent", "name": "乙", "consent": answer},
            ]
            await mediator.post(f"/v1/mediations/{mid}/consent", json={"parties": parties})
            if result == "refused":
                continue
            clock.advance(timedelta(days=days))
            held = {"start_at": clock.now().isoformat(), "place": "调解室", "record": {"summary": "调解"}}
            assert (await mediator.post(f"/v1/mediations/{mid}/sessions", json=held)).status_code == 201
            outcome = (
                {
                    "result": "agreed",
                    "facts": "事实",
                    "terms": ["条款"],
                    "fulfilment_method": "付款",
                    "fulfilment_due": (clock.now() + timedelta(days=10)).date().isoformat(),
                }
                if result == "agreed"
                else {"result": "failed", "reason": "分歧大"}
            )
            r = await mediator.post(f"/v1/mediations/{mid}/outcome", json=outcome)
            assert r.status_code == 200, r.text
    clock.set(MONDAY + timedelta(days=30))
    async with client("supervisor") as supervisor, client("unit_leader", VILLAGE_COMMITTEE) as own:
        rows = (await supervisor.get("/v1/mediation-figures", params={"group_by": "organization"})).json()[
            "rows"
        ]
        by_org = {r["organization"]: r for r in rows}
        village = by_org[VILLAGE_COMMITTEE]
        assert (village["agreements"], village["failures"], village["refusals"]) == (2, 1, 1)
        assert village["success_rate"] == round(2 / 3, 4) and village["average_days"] == 6.0
        labour = by_org[LABOUR_MEDIATION]
        assert (labour["success_rate"], labour["average_days"]) == (0.0, 4.0)
        types = (await supervisor.get("/v1/mediation-figures", params={"group_by": "type"})).json()["rows"]
        by_type = {r["type"]: r for r in types}
        assert by_type["people"]["concluded"] == 4 and by_type["professional"]["failures"] == 1
        assert by_type["people"]["average_days"] == 6.0
        early = {"group_by": "type", "to": (MONDAY - timedelta(days=1)).date().isoformat()}
        assert (await supervisor.get("/v1/mediation-figures", params=early)).json()["rows"] == []
        mine = (await own.get("/v1/mediation-figures")).json()["rows"]
        assert [r["organization"] for r in mine] == [VILLAGE_COMMITTEE]
    async with client("unit_handler", VILLAGE_COMMITTEE) as handler:
        assert (await handler.get("/v1/mediation-figures")).status_code == 403


async def test_an_admin_reloads_the_data_and_a_broken_file_is_refused_with_every_problem(
    mediation_service, tmp_path
):
    med, client = mediation_service.med, mediation_service.client
    before = med.rules
    async with client("admin") as admin, client("dispatcher") as dispatcher:
        assert (await dispatcher.post("/v1/admin/mediation/reload")).status_code == 403
        r = await admin.post("/v1/admin/mediation/reload")
        assert r.status_code == 200 and r.json()["mediators_added"] == 0 and r.json()["organizations"] > 40
        broken = tmp_path / "policy.json"
        broken.write_text('{"version": "x", "time_limits": {}}', encoding="utf-8")
        med.settings.mediation_policy_file = broken
        r = await admin.post("/v1/admin/mediation/reload")
        assert r.status_code == 422 and len(r.json()["errors"]) >= 3  # every missing part is named
        assert med.rules is not before and med.rules.policy.version == before.policy.version
