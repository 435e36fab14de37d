"""Mediation over HTTP on the real servers: the ETag of a mediation, a referral, an organization and
a mediator, which makes two changes from one version one success and one 412, and every list read a
cursor page at a time."""

import asyncio
from datetime import timedelta

import pytest

from tests.mediation_cases import LABOUR_MEDIATION, LEGAL_AID, VILLAGE_COMMITTEE
from tests.mediation_support import opened_by_routing

pytestmark = pytest.mark.integration
PARTIES = [
    {"role": "applicant", "name": "张三", "consent": True},
    {"role": "respondent", "name": "李四", "consent": True},
]


async def read_all(client, path: str, **params) -> list[list[dict]]:
    """Every page of a list, following next_cursor."""
    out: list[list[dict]] = []
    cursor = None
    while True:
        r = await client.get(path, params=params | ({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        out.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


async def test_two_changes_of_a_mediation_or_a_referral_from_one_version_give_one_success_and_one_412(
    mediation_service,
):
    h = mediation_service
    mid = (await opened_by_routing(h, "v-case"))["id"]
    async with h.client("mediator", VILLAGE_COMMITTEE) as mediator, h.client("dispatcher") as dispatcher:
        r = await mediator.get(f"/v1/mediations/{mid}")
        opened = r.headers["ETag"]
        consented = await mediator.post(
            f"/v1/mediations/{mid}/consent", json={"parties": PARTIES}, headers={"If-Match": opened}
        )
        assert consented.status_code == 200 and consented.headers["ETag"] != opened
        stale = await mediator.post(
            f"/v1/mediations/{mid}/escalate",
            json={"reason": "人数增加", "people_count": 30},
            headers={"If-Match": opened},
        )
        assert stale.status_code == 412 and stale.headers["ETag"] == consented.headers["ETag"]

        start = (h.clock.now() + timedelta(days=1)).isoformat()
        both = await asyncio.gather(
            *(
                mediator.post(
                    f"/v1/mediations/{mid}/sessions",
                    json={"start_at": start, "place": place},
                    headers={"If-Match": consented.headers["ETag"]},
                )
                for place in ("村委会", "镇司法所")
            )
        )
        assert sorted(r.status_code for r in both) == [201, 412]
        assert len((await h.med.repo.get(mid))["sessions"]) == 1

        made = await dispatcher.post("/v1/referrals", json={"case_id": "v-case", "kind": "legal_aid"})
        assert made.status_code == 201 and made.headers["ETag"] == '"1"'
        rid = made.json()["id"]
    async with h.client("unit_handler", LEGAL_AID) as aid:
        assert (await aid.get(f"/v1/referrals/{rid}")).headers["ETag"] == '"1"'
        both = await asyncio.gather(
            *(
                aid.post(f"/v1/referrals/{rid}/accept", json={"note": n}, headers={"If-Match": '"1"'})
                for n in "甲乙"
            )
        )
        assert sorted(r.status_code for r in both) == [200, 412]
        assert len((await h.med.repo.referral(rid))["steps"]) == 1


async def test_two_edits_of_an_organization_or_a_mediator_from_one_version_give_one_success_and_one_412(
    mediation_service,
):
    h = mediation_service
    url = f"/v1/mediation-organizations/{LABOUR_MEDIATION}"
    async with h.client("admin") as admin:
        r = await admin.get(url)
        assert r.headers["ETag"] == '"0"' and r.json()["revision"] == 0  # never edited over the API
        both = await asyncio.gather(
            *(admin.patch(url, json={"note": note}, headers={"If-Match": '"0"'}) for note in ("甲", "乙"))
        )
        assert sorted(r.status_code for r in both) == [200, 412]
        won = next(r for r in both if r.status_code == 200)
        assert won.headers["ETag"] == '"1"' and (await admin.get(url)).json()["note"] == won.json()["note"]
        stale = await admin.post(f"{url}/deactivate", json={"reason": "测试"}, headers={"If-Match": '"0"'})
        assert stale.status_code == 412 and (await admin.get(url)).json()["active"] is True

        [first, *_] = (await admin.get("/v1/mediators", params={"organization": LABOUR_MEDIATION})).json()[
            "items"
        ]
        mediator = f"/v1/mediators/{first['id']}"
        version = (await admin.get(mediator)).headers["ETag"]
        assert version == f'"{first["version"]}"'
        both = await asyncio.gather(
            *(admin.patch(mediator, json={"max_load": n}, headers={"If-Match": version}) for n in (7, 8))
        )
        assert sorted(r.status_code for r in both) == [200, 412]
        assert (await h.med.repo.mediator(first["id"]))["version"] == first["version"] + 1


async def test_every_list_of_mediation_pages_by_cursor(mediation_service):
    h = mediation_service
    mid = (await opened_by_routing(h, "p-case"))["id"]
    async with h.client("dispatcher") as dispatcher:
        for kind in ("legal_aid", "counselling", "arbitration"):
            body = {"case_id": "p-case", "kind": kind} | (
                {"risk_level": "low"} if kind == "counselling" else {}
            )
            assert (await dispatcher.post("/v1/referrals", json=body)).status_code == 201
            h.clock.advance(timedelta(minutes=1))
        pages = await read_all(dispatcher, "/v1/referrals", case_id="p-case", limit=2)
        assert [[i["kind"] for i in p] for p in pages] == [["legal_aid", "counselling"], ["arbitration"]]
        assert [
            [i["id"] for i in p] for p in await read_all(dispatcher, "/v1/mediations", case_id="p-case")
        ] == [[mid]]

        orgs = await read_all(dispatcher, "/v1/mediation-organizations", limit=3)
        codes = [o["code"] for p in orgs for o in p]
        first = (await dispatcher.get("/v1/mediation-organizations", params={"limit": 3})).json()
        assert len(orgs) > 1 and codes == sorted(set(codes)) and first["total"] == len(codes)

        mediators = await read_all(dispatcher, "/v1/mediators", limit=2)
        ids = [m["id"] for p in mediators for m in p]
        assert len(mediators) > 1 and ids == sorted(set(ids))
        everyone = (await dispatcher.get("/v1/mediators", params={"limit": 200})).json()
        assert [m["id"] for m in everyone["items"]] == ids and everyone["next_cursor"] is None
        bad = await dispatcher.get("/v1/mediators", params={"cursor": "not-ours"})
        assert bad.status_code == 422

    async with h.client("mediator", VILLAGE_COMMITTEE) as mediator:
        for _ in range(3):  # each clear read of the parties' names is audited
            await mediator.post(f"/v1/mediations/{mid}/consent", json={"parties": PARTIES})
            await mediator.get(f"/v1/mediations/{mid}")
            h.clock.advance(timedelta(minutes=1))
    async with h.client("auditor") as auditor:
        entries = await read_all(auditor, f"/v1/mediations/{mid}/audit", limit=2)
        flat = [e for p in entries for e in p]
        assert len(entries) > 1 and all(len(p) <= 2 for p in entries)
        assert [e["at"] for e in flat] == sorted(e["at"] for e in flat) and "at_ts" not in flat[0]


async def test_audit_entries_recorded_before_the_cursor_get_a_string_id_and_their_sort_key(mediation_service):
    h = mediation_service
    audit = h.med.repo.audit
    old = {
        "mediation_id": "m-old",
        "case_id": "c-old",
        "subject": "s",
        "fields": ["parties"],
        "at": h.clock.now(),
    }
    await audit.insert_one(dict(old))  # as written before: an ObjectId, no at_ts
    await audit.insert_one(old | {"_id": "already-a-string"})
    assert await h.med.repo.backfill_list_keys() == 2
    assert await h.med.repo.backfill_list_keys() == 0
    docs = [d async for d in audit.find({"mediation_id": "m-old"})]
    assert len(docs) == 2 and all(isinstance(d["_id"], str) and d["at_ts"] for d in docs)
    page = await h.med.repo.audit_entries("m-old", 1, None)
    assert len(page.items) == 1 and page.next_cursor is not None
