"""An organization lists its own mediations and a center its own referrals, in cursor pages filtered
by state, on the real servers: the unit comes from the token, a county-wide role names it."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.mediation_cases import COUNSELLING, LABOUR_MEDIATION, LEGAL_AID, VILLAGE_COMMITTEE
from tests.mediation_support import opened_by_routing

pytestmark = pytest.mark.integration


async def test_an_organization_pages_through_its_own_mediations_by_state(mediation_service):
    h = mediation_service
    opened = []
    for n in range(3):
        opened.append((await opened_by_routing(h, f"org-list-{n}"))["id"])
        if n == 0:  # the other two open at the same moment: the id orders them
            h.clock.advance(timedelta(minutes=1))
    async with h.client("mediator", VILLAGE_COMMITTEE) as mediator:
        first = (await mediator.get("/v1/worklist/mediations", params={"limit": 2})).json()
        assert first["unit"] == VILLAGE_COMMITTEE and len(first["items"]) == 2 and first["next_cursor"]
        assert "parties" not in first["items"][0]  # a list names nobody; one mediation is read audited
        params = {"limit": 2, "cursor": first["next_cursor"]}
        second = (await mediator.get("/v1/worklist/mediations", params=params)).json()
        assert second["next_cursor"] is None
        listed = [i["id"] for i in first["items"] + second["items"]]
        assert sorted(listed) == sorted(opened) and listed[0] == opened[0]  # each once, oldest first
        states = {"status": ["opened", "consent_pending"]}
        assert len((await mediator.get("/v1/worklist/mediations", params=states)).json()["items"]) == 3
        agreed = (await mediator.get("/v1/worklist/mediations", params={"status": "agreed"})).json()
        assert agreed["items"] == []
        bad = await mediator.get("/v1/worklist/mediations", params={"status": "done"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "status"]
        bad = await mediator.get("/v1/worklist/mediations", params={"cursor": "not-ours"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "cursor"]
        # a unit's own list whatever unit it names
        mine = await mediator.get("/v1/worklist/mediations", params={"unit": LABOUR_MEDIATION})
        assert mine.json()["unit"] == VILLAGE_COMMITTEE
    async with h.client("mediator", LABOUR_MEDIATION) as other:
        assert (await other.get("/v1/worklist/mediations")).json()["items"] == []
    async with h.client("dispatcher") as dispatcher:
        missing = await dispatcher.get("/v1/worklist/mediations")
        assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["query", "unit"]
        theirs = await dispatcher.get("/v1/worklist/mediations", params={"unit": VILLAGE_COMMITTEE})
        assert len(theirs.json()["items"]) == 3


async def test_a_center_lists_the_referrals_it_receives_by_state_and_kind(mediation_service):
    h = mediation_service
    await opened_by_routing(h, "ref-list")  # the case is known to mediation
    async with h.client("dispatcher") as dispatcher:
        for kind in ("legal_aid", "counselling"):
            body = {"case_id": "ref-list", "kind": kind, "reason": "需要帮助"}
            if kind == "counselling":
                body["risk_level"] = "low"
            assert (await dispatcher.post("/v1/referrals", json=body)).status_code == 201
    async with h.client("unit_handler", LEGAL_AID) as aid:
        items = (await aid.get("/v1/worklist/referrals")).json()["items"]
        assert [(i["kind"], i["status"]) for i in items] == [("legal_aid", "made")]
        assert "made_ts" not in items[0] and "letter_html" not in items[0]
        assert (await aid.post(f"/v1/referrals/{items[0]['id']}/accept", json={})).status_code == 200
        made = (await aid.get("/v1/worklist/referrals", params={"status": "made"})).json()["items"]
        accepted = (await aid.get("/v1/worklist/referrals", params={"status": "accepted"})).json()["items"]
        assert made == [] and [i["id"] for i in accepted] == [items[0]["id"]]
    async with h.client("unit_handler", COUNSELLING) as center:
        items = (await center.get("/v1/worklist/referrals", params={"kind": "counselling"})).json()["items"]
        assert [i["kind"] for i in items] == ["counselling"]
        other = await center.get("/v1/worklist/referrals", params={"kind": "legal_aid"})
        assert other.json()["items"] == []


async def test_mediations_and_referrals_recorded_before_the_lists_get_their_sort_keys(repo):
    opened = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    await repo.mediations.insert_one(
        {"_id": "old-m", "organization": {"code": VILLAGE_COMMITTEE}, "status": "opened", "opened_at": opened}
    )
    await repo.referrals.insert_one({"_id": "old-r", "receiving_code": LEGAL_AID, "made_at": opened})
    assert await repo.backfill_list_keys() == 2
    assert await repo.backfill_list_keys() == 0  # once
    docs, _ = await repo.of_organization(VILLAGE_COMMITTEE, [], 10, None)
    assert [(d["_id"], d["opened_ts"]) for d in docs] == [("old-m", int(opened.timestamp() * 1000))]
    refs, _ = await repo.referrals_received(LEGAL_AID, [], [], 10, None)
    assert [r["_id"] for r in refs] == ["old-r"]
