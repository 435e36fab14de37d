"""Mediation organizations edited over the API on the real servers: an admin creates, changes,
deactivates and reactivates them; the edits are checked against the county package field by field,
chosen from at once, kept in MongoDB over the data, and seen by another replica, after a restart and
after a reload."""

import pytest

from tests.helpers import eventually
from tests.mediation_cases import (
    LABOUR_MEDIATION,
    LEGAL_AID,
    TOWN,
    VILLAGE,
    VILLAGE_COMMITTEE,
)
from tests.mediation_support import MediationHarness, opened_by_routing, routed_event, start_mediation

pytestmark = pytest.mark.integration
COUNTY = TOWN[:6]  # the county's area code is the first six digits of its towns'
COURT_ROOM = "990102-FY-TJS"  # the one court mediation room of the demo data
NEW = {
    "code": "T-HYJT",
    "name": "测试婚姻家庭纠纷人民调解委员会",
    "type": "professional",
    "jurisdiction": COUNTY,
    "categories": ["1402"],
    "host_unit": LEGAL_AID,
    "note": "created by a test",
}


@pytest.fixture
async def start(nats_url, mongodb_url, db_prefix, run_dir, runtimes):
    """Start a mediation replica on this test's servers and database (each with its own clock)."""

    async def started(**overrides) -> MediationHarness:
        h = await start_mediation(
            nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir, **overrides
        )
        runtimes.append(h.med.runtime)
        return h

    return started


def loc_of(response) -> list[list]:
    return [d["loc"] for d in response.json()["errors"]]


async def test_an_admin_creates_an_organization_that_is_chosen_at_once_and_deactivates_it(start):
    h = await start()
    async with h.client("admin") as admin, h.client("dispatcher") as dispatcher:
        assert (await dispatcher.post("/v1/mediation-organizations", json=NEW)).status_code == 403
        async with h.client("unit_leader", LABOUR_MEDIATION) as leader:
            r = await leader.patch(f"/v1/mediation-organizations/{LABOUR_MEDIATION}", json={"note": "x"})
            assert r.status_code == 403

        # field by field: the area, the categories and the host unit must be the county package's
        wrong = NEW | {"jurisdiction": "000000", "categories": ["1402", "9998"], "host_unit": "NO-UNIT"}
        r = await admin.post("/v1/mediation-organizations", json=wrong)
        assert r.status_code == 422
        assert loc_of(r) == [["body", "jurisdiction"], ["body", "categories", 1], ["body", "host_unit"]]
        assert "000000" not in r.text and "NO-UNIT" not in r.text  # reasons, never the values
        r = await admin.post("/v1/mediation-organizations", json=NEW | {"type": "tribunal"})
        assert r.status_code == 422 and ["body", "type"] in loc_of(r)
        assert (
            await admin.post("/v1/mediation-organizations", json=NEW | {"code": LEGAL_AID})
        ).status_code == 409

        r = await admin.post("/v1/mediation-organizations", json=NEW)
        assert r.status_code == 201, r.text
        created = r.json()
        assert (created["source"], created["active"], created["level"]) == ("api", True, "county")
        assert [e["action"] for e in created["edits"]] == ["create"] and created["edits"][0]["by"][
            "role"
        ] == "admin"
        assert (await admin.post("/v1/mediation-organizations", json=NEW)).status_code == 409

        # it takes mediators, and a family dispute goes to it (a professional organization names 1402)
        mediator = {"id": "T-M1", "name": "测试调解员", "organization": NEW["code"], "specialties": ["1402"]}
        assert (await admin.post("/v1/mediators", json=mediator)).status_code == 201
    first = await opened_by_routing(h, "org-1", category="14", subcategory="1402")
    assert first["organization"]["code"] == NEW["code"] and first["mediator"]["id"] == "T-M1"
    assert first["type"] == "professional"

    async with h.client("admin") as admin, h.client("dispatcher") as dispatcher:
        assert (
            await admin.post(f"/v1/mediation-organizations/{NEW['code']}/deactivate", json={})
        ).status_code == 422
        r = await admin.post(
            f"/v1/mediation-organizations/{NEW['code']}/deactivate", json={"reason": "合并撤销"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["active"] is False and r.json()["open_mediations"] == 1
        again = await admin.post(
            f"/v1/mediation-organizations/{NEW['code']}/deactivate", json={"reason": "再次"}
        )
        assert again.status_code == 409
        listed = (await admin.get("/v1/mediation-organizations", params={"active": "false"})).json()["items"]
        assert [o["code"] for o in listed] == [NEW["code"]]
        # not chosen, not named, no new mediators; its mediation stays readable and goes on
        second = await opened_by_routing(h, "org-2", category="14", subcategory="1402")
        assert second["organization"]["code"] == VILLAGE_COMMITTEE
        r = await admin.post("/v1/mediators", json=mediator | {"id": "T-M2"})
        assert r.status_code == 409
        await h.publish(routed_event("org-3", flags=()))

        async def named():
            body = {"case_id": "org-3", "organization": NEW["code"]}
            r = await dispatcher.post("/v1/mediations", json=body)
            return r if r.status_code != 404 else None  # 404 until mediation has seen the case routed

        r = await eventually(named, what="a dispatcher's answer for the routed case")
        assert r.status_code == 409 and "deactivated" in r.text
        old = await dispatcher.get(f"/v1/mediations/{first['id']}")
        assert old.status_code == 200 and old.json()["organization"]["code"] == NEW["code"]

        r = await admin.post(f"/v1/mediation-organizations/{NEW['code']}/activate", json={"reason": "恢复"})
        assert r.status_code == 200 and r.json()["active"] is True
        assert [e["action"] for e in r.json()["edits"]] == ["create", "deactivate", "activate"]
        assert (
            await admin.post("/v1/mediation-organizations/NO-ORG/activate", json={"reason": "xx"})
        ).status_code == 404


async def test_edits_of_the_data_survive_a_restart_and_a_reload_and_reach_another_replica(start):
    a = await start()
    b = await start(mediation_directory_refresh_seconds=0.2)
    social_insurance = {"category": "05", "subcategory": "0503"}
    before = await opened_by_routing(a, "data-1", **social_insurance)
    assert before["organization"]["code"] == VILLAGE_COMMITTEE  # no professional names 0503 in the file
    url = f"/v1/mediation-organizations/{LABOUR_MEDIATION}"
    async with a.client("admin") as admin:
        r = await admin.patch(url, json={"categories": ["0501", "0502", "0503"], "name": None})
        assert r.status_code == 422 and loc_of(r) == [["body", "name"]]
        assert (await admin.patch(url, json={})).status_code == 422
        assert (
            await admin.patch("/v1/mediation-organizations/NO-ORG", json={"note": "x"})
        ).status_code == 404
        r = await admin.patch(url, json={"categories": ["0501", "0502", "0503"]})
        assert r.status_code == 200, r.text
        changed = r.json()
        file_name = a.med.rules.directory.data_organizations[LABOUR_MEDIATION].name
        assert changed["categories"] == ["0501", "0502", "0503"] and changed["edited"] is True
        assert changed["name"] == file_name and changed["source"] == "organizations_file"

        # a committee of the county package changes only what the package does not say
        committee = f"/v1/mediation-organizations/{VILLAGE_COMMITTEE}"
        r = await admin.patch(committee, json={"name": "改名", "jurisdiction": TOWN, "note": "驻村"})
        assert r.status_code == 422 and loc_of(r) == [["body", "name"], ["body", "jurisdiction"]]
        assert (await admin.patch(committee, json={"note": "驻村调解"})).json()["note"] == "驻村调解"

        # the last active organization of a type stays (such mediations could not be opened otherwise)
        r = await admin.post(f"/v1/mediation-organizations/{COURT_ROOM}/deactivate", json={"reason": "撤销"})
        assert r.status_code == 409 and "last active" in r.text
        assert (
            await admin.patch(f"/v1/mediation-organizations/{COURT_ROOM}", json={"type": "people"})
        ).status_code == 409

    # another replica reads the edit within its refresh interval (MEDIATION_DIRECTORY_REFRESH_SECONDS)
    async def seen_by_b():
        async with b.client("dispatcher") as dispatcher:
            org = (await dispatcher.get(url)).json()
            return org if "0503" in org["categories"] else None

    await eventually(seen_by_b, within=10, what="the edit in the other replica's directory")
    # either replica may take the next routed case: both choose by the edit now
    after = await opened_by_routing(a, "data-2", **social_insurance)
    assert after["organization"]["code"] == LABOUR_MEDIATION

    # a reload of the data keeps the edits laid over it; a restart reads them at start
    async with a.client("admin") as admin:
        r = await admin.post("/v1/admin/mediation/reload")
        assert r.status_code == 200 and r.json()["edits_not_used"] == []
        assert "0503" in (await admin.get(url)).json()["categories"]
    c = await start()  # a new process reads the edits at start
    async with c.client("dispatcher") as dispatcher:
        org = (await dispatcher.get(url)).json()
        assert org["categories"] == ["0501", "0502", "0503"]
        assert [e["action"] for e in org["edits"]] == ["change"]
        committee = (await dispatcher.get(f"/v1/mediation-organizations/{VILLAGE_COMMITTEE}")).json()
        assert (committee["note"], committee["jurisdiction"], committee["source"]) == (
            "驻村调解",
            VILLAGE,
            "county_package",
        )
