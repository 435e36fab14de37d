"""Mediation's clear reads of personal data (parties' and participants' names, session records, the
agreement) are audited like intake's unmask: who, role, which fields, when, through which endpoint;
auditors, admins and supervisors list them. Mediation in process on the real servers."""

import pytest

from tests.mediation_cases import LABOUR_MEDIATION, VILLAGE_COMMITTEE
from tests.mediation_support import mediate_to_agreement, opened_by_routing

pytestmark = pytest.mark.integration
MEDIATION = "/v1/mediations/{mediation_id}"


async def test_every_clear_read_of_a_mediation_is_audited_and_listed_for_auditors(mediation_service):
    client = mediation_service.client
    # opened with no names yet: that first read shows nothing in clear and leaves no entry
    mid = await mediate_to_agreement(mediation_service, "case-audit")
    async with client("mediator", VILLAGE_COMMITTEE) as mediator:
        page = await mediator.get(f"/v1/mediations/{mid}/agreement")
        assert page.status_code == 200 and "张三" in page.text
    async with client("dispatcher") as dispatcher:
        shown = (await dispatcher.get(f"/v1/mediations/{mid}")).json()
        assert [p["name"] for p in shown["parties"]] == ["张三", "李四"]
        assert (await dispatcher.get(f"/v1/mediations/{mid}/audit")).status_code == 403

    async with client("auditor") as auditor:
        audit = (await auditor.get(f"/v1/mediations/{mid}/audit")).json()["items"]
        assert (await auditor.get("/v1/mediations/no-such-mediation/audit")).status_code == 404
    everything = ["parties.name", "sessions.participants.name", "sessions.record"]
    assert [(a["role"], a["unit"], a["endpoint"], a["fields"]) for a in audit] == [
        ("mediator", VILLAGE_COMMITTEE, f"POST {MEDIATION}/consent", ["parties.name"]),
        ("mediator", VILLAGE_COMMITTEE, f"POST {MEDIATION}/sessions", everything[:2]),
        ("mediator", VILLAGE_COMMITTEE, f"POST {MEDIATION}/sessions/{{no}}/record", everything),
        ("mediator", VILLAGE_COMMITTEE, f"POST {MEDIATION}/outcome", everything),
        ("mediator", VILLAGE_COMMITTEE, f"GET {MEDIATION}/agreement", ["agreement.document"]),
        ("dispatcher", None, f"GET {MEDIATION}", everything),
    ]
    assert all(a["mediation_id"] == mid and a["case_id"] == "case-audit" and a["subject"] for a in audit)
    assert [a["at"] for a in audit] == sorted(a["at"] for a in audit)
    for role in ("admin", "supervisor"):
        async with client(role) as reader:
            assert len((await reader.get(f"/v1/mediations/{mid}/audit")).json()["items"]) == len(audit)


async def test_a_caller_who_may_not_see_the_mediation_reads_nothing_and_leaves_no_entry(mediation_service):
    mid = (await opened_by_routing(mediation_service, "case-audit-2"))["id"]
    parties = [{"role": "applicant", "name": "赵六", "consent": True}]
    async with mediation_service.client("mediator", VILLAGE_COMMITTEE) as mediator:
        await mediator.post(f"/v1/mediations/{mid}/consent", json={"parties": parties})
    async with mediation_service.client("mediator", LABOUR_MEDIATION) as other:
        assert (await other.get(f"/v1/mediations/{mid}")).status_code == 404
        assert (await other.get(f"/v1/mediations/{mid}/agreement")).status_code == 404
    async with mediation_service.client("auditor") as auditor:
        audit = (await auditor.get(f"/v1/mediations/{mid}/audit")).json()["items"]
    assert [a["unit"] for a in audit] == [VILLAGE_COMMITTEE]
