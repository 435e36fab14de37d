"""Case history on the real (embedded) MongoDB server: record, candidates, links, petitioner figures."""

from datetime import timedelta

import pytest

from dispatch_common import store
from services.intake.adapters.history import CaseHistory, find_links
from services.intake.domain.duplicates import (
    CaseSnapshot,
    Links,
    neighbour_cells,
    neighbourhood_block,
    place_blocks,
)
from tests.intake_cases import ALICE, BOB, LIGHT, LIGHT_AGAIN, LON, NOISE, NOISE_AGAIN, NOW, POLICY, snapshot

pytestmark = pytest.mark.integration


@pytest.fixture
async def history(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-intake-history")
    history = CaseHistory(client[f"{db_prefix}intake"])
    await history.ensure_indexes()
    yield history
    await client.drop_database(f"{db_prefix}intake")
    await client.close()


def snap(n: int, text: str, **facts) -> CaseSnapshot:
    return snapshot(n, text, case_id=f"c{n}", **facts)


async def test_ensure_indexes_is_idempotent_and_indexes_every_lookup_key(history):
    await history.ensure_indexes()
    keys = [list(ix["key"]) async for ix in await history.col.list_indexes()]
    for field in ("petitioner_hash", *place_blocks("1:0:0"), "address_key"):
        assert [field] in keys or [field, "received_ts"] in keys


async def test_record_stores_a_small_document_once(history):
    case = snap(1, "  楼下广场舞音响太吵！ ")
    assert await history.record(case, Links())
    assert not await history.record(case, Links())  # a retried registration is no second document
    doc = await history.col.find_one({"_id": "c1"})
    assert doc["text"] == "楼下广场舞音响太吵"
    assert doc["tokens"] and doc["incident_id"] == "c1" and doc["repeat_of"] is None
    assert doc["received_at"] == NOW and doc["received_at"].utcoffset() == timedelta(0)
    assert (
        doc["petitioner_hash"] == ALICE
        and doc["place_cell"] == case.place_cell
        and all(doc[field] == key for field, key in place_blocks(case.place_cell).items())
    )


async def test_repeat_candidates_by_hash_within_the_window_most_recent_first(history):
    for n, days in enumerate([1, 20, 60, 89, 95, 200], start=1):
        await history.record(snap(n, NOISE, ago=timedelta(days=days)), Links())
    await history.record(snap(10, NOISE, ago=timedelta(days=2), who=BOB), Links())
    await history.record(snap(11, NOISE, ago=-timedelta(days=1)), Links())  # received after NOW
    found = await history.repeat_candidates((ALICE,), NOW - timedelta(days=90), 200, NOW)
    assert [c.case_id for c in found] == ["c1", "c2", "c3", "c4"]
    assert all(c.petitioner_hash == ALICE for c in found)
    assert found[0].received_at == NOW - timedelta(days=1) and found[0].received_at.tzinfo is not None
    assert found[0].fingerprint.tokens  # rebuilt from the stored tokens
    limited = await history.repeat_candidates((ALICE,), NOW - timedelta(days=90), 2, NOW)
    assert [c.case_id for c in limited] == ["c1", "c2"]
    assert await history.repeat_candidates(("f" * 64,), NOW - timedelta(days=90), 200) == []


async def test_incident_candidates_by_cells_and_address_within_the_window(history):
    await history.record(snap(1, LIGHT, ago=timedelta(hours=1), who=BOB), Links())
    await history.record(snap(2, LIGHT, ago=timedelta(hours=5), lon=LON + 0.0019), Links())  # next cell
    await history.record(snap(3, LIGHT, ago=timedelta(hours=3), lon=LON + 0.02), Links())  # 1.7 km away
    await history.record(snap(7, LIGHT, ago=timedelta(hours=3), lon=LON + 0.0041), Links())  # 2 cells away
    same_block = snap(8, LIGHT, ago=timedelta(hours=3), lon=LON - 0.0040)  # 2 cells away, in the block
    await history.record(same_block, Links())
    await history.record(snap(4, LIGHT, ago=timedelta(hours=60), who=BOB), Links())  # too long ago
    await history.record(
        snap(5, LIGHT, ago=timedelta(hours=2), lon=None, lat=None, address="解放路12号"), Links()
    )
    await history.record(
        snap(6, LIGHT, ago=timedelta(hours=2), lon=None, lat=None, address="解放路13号"), Links()
    )
    new = snap(9, LIGHT_AGAIN, address="解放路 １２号")
    cell = new.place_cell
    field, block = neighbourhood_block(cell)  # the lookup's block holds c8, which is no neighbour
    assert place_blocks(same_block.place_cell)[
        field
    ] == block and same_block.place_cell not in neighbour_cells(cell)
    since, until = NOW - timedelta(hours=48), NOW + timedelta(hours=48)
    found = await history.incident_candidates(cell, new.address_key, since, 200, until)
    assert [c.case_id for c in found] == ["c1", "c5", "c2"]
    only_cells = await history.incident_candidates(cell, None, since, 200, until)
    assert [c.case_id for c in only_cells] == ["c1", "c2"]
    assert [c.case_id for c in await history.incident_candidates(cell, new.address_key, since, 1)] == ["c1"]
    assert await history.incident_candidates(None, None, since, 200) == []


async def test_find_links_repeat_and_incident_end_to_end(history):
    first = snap(1, LIGHT, ago=timedelta(hours=20), who=BOB)
    links = await find_links(history, first, POLICY)
    assert links == Links()
    await history.record(first, links)

    second = snap(2, LIGHT_AGAIN, ago=timedelta(hours=2))  # Alice, same place, other petitioner
    links = await find_links(history, second, POLICY)
    assert links.repeat_of is None and links.incident_of.incident_id == "c1"
    await history.record(second, links)

    third = snap(3, LIGHT, who=None, lon=LON + 0.001)  # anonymous, 85 m away
    links = await find_links(history, third, POLICY)
    assert links.incident_of.incident_id == "c1"
    assert set(links.incident_of.case_ids) == {"c1", "c2"}
    await history.record(third, links)
    assert (await history.col.find_one({"_id": "c3"}))["incident_id"] == "c1"

    bob_again = snap(4, LIGHT_AGAIN, ago=-timedelta(days=30), who=BOB, lon=LON + 0.3)
    links = await find_links(history, bob_again, POLICY)
    assert links.repeat_of.case_id == "c1" and links.incident_of is None
    await history.record(bob_again, links)
    doc = await history.col.find_one({"_id": "c4"})
    assert doc["repeat_of"] == "c1" and doc["is_repeat"] is True and doc["incident_id"] == "c4"


async def test_only_an_incidents_representatives_are_candidates(history):
    k = POLICY.incident_representatives
    cases = [
        snap(n, LIGHT if n == 1 else LIGHT_AGAIN, ago=timedelta(hours=10 - n), who=f"p{n}")
        for n in range(1, k + 3)
    ]
    for new in cases:
        await history.record(new, await find_links(history, new, POLICY))
    stored = {d["_id"]: d async for d in history.col.find({}, {"incident_id": 1, "incident_rep": 1})}
    assert {d["incident_id"] for d in stored.values()} == {"c1"}  # every report joined the first one's
    assert [stored[c.case_id]["incident_rep"] for c in cases] == [True] * k + [False, False]

    # a document from before incident_rep existed is still a candidate
    legacy = CaseHistory.document(snap(99, LIGHT, ago=timedelta(hours=1), who="old"), Links())
    del legacy["incident_rep"]
    await history.col.insert_one(legacy)
    new = snap(100, LIGHT_AGAIN, who=None)
    since, until = NOW - timedelta(hours=48), NOW + timedelta(hours=48)
    found = await history.incident_candidates(new.place_cell, None, since, 200, until)
    assert sorted(c.case_id for c in found) == sorted(["c99", *(f"c{n}" for n in range(1, k + 1))])
    links = await find_links(history, new, POLICY)
    assert links.incident_of.incident_id == "c1" and not links.represents_incident


async def test_petitioner_history_figures_and_outcomes(history):
    empty = await history.petitioner_history((ALICE,))
    assert empty == {
        "cases": 0,
        "repeats": 0,
        "last_case_no": None,
        "last_outcome": None,
        "first_at": None,
        "last_at": None,
    }
    first = snap(1, NOISE, ago=timedelta(days=40))
    await history.record(first, await find_links(history, first, POLICY))
    second = snap(2, NOISE_AGAIN, ago=timedelta(days=10))
    second_links = await find_links(history, second, POLICY)
    assert second_links.repeat_of.case_id == "c1"
    await history.record(second, second_links)
    await history.record(snap(3, NOISE, who=BOB), Links())
    assert await history.set_outcome("c1", "accepted", at=NOW)
    assert await history.set_outcome("c2", "not_accepted")
    assert not await history.set_outcome("nope", "accepted")

    figures = await history.petitioner_history((ALICE,))
    assert figures == {
        "cases": 2,
        "repeats": 1,
        "last_case_no": "990102-2026-000002",
        "last_outcome": "not_accepted",
        "first_at": NOW - timedelta(days=40),
        "last_at": NOW - timedelta(days=10),
    }
    assert figures["first_at"].tzinfo is not None
    assert (await history.petitioner_history((BOB,)))["cases"] == 1
    doc = await history.col.find_one({"_id": "c1"})
    assert doc["outcome"] == "accepted" and doc["outcome_ts"] == round(NOW.timestamp() * 1000)
