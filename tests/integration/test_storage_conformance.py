"""Storage conformance: every MongoDB operation the project uses, against whatever server we run on.

Runs against the embedded server by default and against a real MongoDB when TEST_MONGODB_URL is
set, so a difference between the two shows up here first (docs/decisions/0006).
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import InsertOne, ReturnDocument
from pymongo.errors import ClientBulkWriteException, DuplicateKeyError

from dispatch_common import store

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="conformance")
    yield client[f"{db_prefix}conformance"]
    await client.close()


async def test_ping(mongodb_url):
    client = store.connect(mongodb_url, app_name="conformance")
    assert await store.ping(client)
    await client.close()


async def test_insert_find_and_duplicate_id(db):
    await db.c.insert_one({"_id": "a", "n": 1, "nested": {"x": [1, 2]}})
    assert (await db.c.find_one({"_id": "a"}))["nested"] == {"x": [1, 2]}
    with pytest.raises(DuplicateKeyError):
        await db.c.insert_one({"_id": "a"})


async def test_unique_secondary_index(db):
    await db.c.create_index([("case_no", 1)], unique=True)
    await db.c.insert_one({"_id": "1", "case_no": "N1"})
    with pytest.raises(DuplicateKeyError):
        await db.c.insert_one({"_id": "2", "case_no": "N1"})


async def test_projection_excludes_a_field(db):
    await db.c.insert_one({"_id": "p", "outbox": [{"id": "e"}], "keep": 1})
    doc = await db.c.find_one({"_id": "p"}, {"outbox": 0})
    assert doc == {"_id": "p", "keep": 1}


async def test_find_with_in_or_ranges_dotted_paths_sort_skip_limit(db):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    await db.c.insert_many(
        [
            {
                "_id": f"d{i}",
                "k": "a" if i % 2 else "b",
                "n": i,
                "at": base + timedelta(hours=i),
                "lead_unit": {"code": f"u{i % 3}"},
            }
            for i in range(10)
        ]
    )
    assert await db.c.count_documents({"k": {"$in": ["a"]}}) == 5
    assert await db.c.count_documents({"$or": [{"k": "a"}, {"n": 0}]}) == 6
    assert await db.c.count_documents({"n": {"$gte": 3, "$lt": 7}}) == 4
    assert await db.c.count_documents({"lead_unit.code": "u1"}) == 3
    got = [
        d["_id"]
        async for d in db.c.find({"at": {"$lte": base + timedelta(hours=5)}})
        .sort([("n", -1)])
        .skip(1)
        .limit(2)
    ]
    assert got == ["d4", "d3"]


async def test_datetimes_come_back_timezone_aware_in_utc(db):
    at = datetime(2026, 11, 23, 8, 30, 15, 123000, tzinfo=UTC)
    await db.c.insert_one({"_id": "t", "at": at})
    back = (await db.c.find_one({"_id": "t"}))["at"]
    assert back == at and back.tzinfo is not None


async def test_set_of_nested_documents_and_arrays_of_documents(db):
    await db.c.insert_one({"_id": "s", "version": 1})
    outbox = [{"id": "e1", "event": {"data": {"a": {"b": [1, {"c": 2}]}}}, "headers": {"traceparent": "x"}}]
    result = await db.c.update_one({"_id": "s", "version": 1}, {"$set": {"outbox": outbox, "version": 2}})
    assert result.matched_count == 1
    assert (await db.c.find_one({"_id": "s"}))["outbox"] == outbox


async def test_version_guarded_update_lets_exactly_one_concurrent_writer_win(db):
    await db.c.insert_one({"_id": "v", "version": 1, "winner": None})

    async def write(name: str) -> int:
        r = await db.c.update_one({"_id": "v", "version": 1}, {"$set": {"version": 2, "winner": name}})
        return r.matched_count

    results = await asyncio.gather(*(write(f"w{i}") for i in range(20)))
    assert sorted(results) == [0] * 19 + [1]


async def test_pull_removes_matching_array_documents(db):
    await db.c.insert_one({"_id": "o", "outbox": [{"id": "e1"}, {"id": "e2"}, {"id": "e3"}]})
    await db.c.update_one({"_id": "o"}, {"$pull": {"outbox": {"id": {"$in": ["e1", "e3"]}}}})
    assert (await db.c.find_one({"_id": "o"}))["outbox"] == [{"id": "e2"}]


async def test_counter_by_inc_upsert_is_unique_under_concurrency(db):
    async def take() -> int:
        doc = await db.counters.find_one_and_update(
            {"_id": "990102-2026"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return doc["seq"]

    values = await asyncio.gather(*(take() for _ in range(100)))
    assert sorted(values) == list(range(1, 101))


async def test_group_on_one_field_with_sum(db):
    await db.c.insert_many([{"_id": str(uuid.uuid4()), "status": s} for s in ["a", "a", "b"]])
    rows = [r async for r in await db.c.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])]
    assert sorted((r["_id"], r["n"]) for r in rows) == [("a", 2), ("b", 1)]


async def test_create_index_is_idempotent(db):
    await db.c.create_index([("case_id", 1), ("time", 1)])
    await db.c.create_index([("case_id", 1), ("time", 1)])
    names = await db.c.index_information()
    assert len(names) == 2  # _id and ours


async def test_booleans_set_at_top_level_match_queries_by_true_and_false(db):
    # nx-27017 0.8.1 reads a top-level boolean written by $set back as 1/0 (docs/decisions/0006);
    # the project relies only on queries by True/False, which both servers answer alike.
    await db.c.insert_one({"_id": "b", "pending": True})
    await db.c.update_one({"_id": "b"}, {"$set": {"pending": False}})
    assert await db.c.count_documents({"pending": False}) == 1
    assert await db.c.count_documents({"pending": True}) == 0
    assert not (await db.c.find_one({"_id": "b"}))["pending"]


def test_no_collection_name_ends_like_a_gridfs_table():
    # nx-27017 0.8.1 silently drops updates on a collection named "<x>_files" (it is taken for a
    # GridFS table) while answering nModified=1; measured here, see docs/decisions/0006.
    import re

    from dispatch_common.paths import REPO_ROOT

    names = set()
    for path in (REPO_ROOT / "services").rglob("*.py"):
        names |= set(re.findall(r'db\["([A-Za-z0-9_.]+)"\]', path.read_text(encoding="utf-8")))
    assert names, 'collection names are spelled as db["name"] in services/'
    assert not [n for n in names if n.endswith(("_files", "_chunks", ".files", ".chunks"))]


async def test_not_false_matches_true_and_a_missing_field_with_an_indexed_equality(db):
    # the incident lookup: {key: value, incident_rep: {"$ne": False}} (services/intake/adapters/history.py)
    await db.c.create_index("k")
    await db.c.insert_many(
        [
            {"_id": "t", "k": "a", "rep": True},
            {"_id": "f", "k": "a", "rep": False},
            {"_id": "m", "k": "a"},
            {"_id": "o", "k": "b", "rep": True},
        ]
    )
    found = await db.c.find({"k": "a", "rep": {"$ne": False}}).to_list()
    assert sorted(d["_id"] for d in found) == ["m", "t"]


async def test_not_true_keeps_false_and_missing_fields_with_a_sort_a_page_and_a_dotted_path(db):
    # a county-wide list leaving confidential reports out: {..., "confidential": {"$ne": True}}
    # (dispatch_common/confidential.py), also on a field inside a sub-document (routing's decision)
    await db.c.create_index("unit")
    await db.c.insert_many(
        [
            {"_id": "t", "unit": "u", "confidential": True, "decision": {"confidential": True}},
            {"_id": "f", "unit": "u", "confidential": False, "decision": {"confidential": False}},
            {"_id": "m", "unit": "u", "decision": {}},
        ]
    )
    await db.c.update_one({"_id": "f"}, {"$set": {"confidential": False}})
    found = await db.c.find({"unit": "u", "confidential": {"$ne": True}}).sort("_id", -1).skip(0).to_list(5)
    assert [d["_id"] for d in found] == ["m", "f"]
    dotted = await db.c.find({"decision.confidential": {"$ne": True}}).to_list()
    assert sorted(d["_id"] for d in dotted) == ["f", "m"]


async def test_a_replacement_keeps_datetimes_and_nested_documents_intact(db):
    # nx-27017 0.8.1 stores a datetime written by $set at a top-level or dotted path as a naive
    # string, and a sub-document added by $push as a JSON string; a whole-document replacement keeps
    # every type, so store.save_aggregate replaces (docs/decisions/0006).
    at = datetime(2026, 3, 1, 12, 0, 5, 123000, tzinfo=UTC)
    await db.c.insert_one({"_id": "r", "version": 1})
    state = {"_id": "r", "version": 2, "at": at, "log": [{"at": at, "what": "x"}], "sub": {"at": at}}
    result = await db.c.replace_one({"_id": "r", "version": 1}, state)
    assert result.matched_count == 1
    assert await db.c.find_one({"_id": "r"}) == state


async def test_save_aggregate_keeps_datetimes_and_refuses_dotted_paths(db):
    from dispatch_common import store

    at = datetime(2026, 3, 1, 12, 0, 5, 123000, tzinfo=UTC)
    await store.insert_aggregate(db.c, {"_id": "g", "status": "new"})
    current = await db.c.find_one({"_id": "g"})
    await store.save_aggregate(db.c, current, {"status": "done", "done_at": at, "log": [{"at": at}]})
    back = await db.c.find_one({"_id": "g"})
    assert back["done_at"] == at and back["log"] == [{"at": at}] and back["version"] == 2
    with pytest.raises(ValueError, match="top-level"):
        await store.save_aggregate(db.c, back, {"sub.at": at})
    with pytest.raises(store.VersionConflict):
        await store.save_aggregate(db.c, current, {"status": "stale"})


async def test_a_projection_of_a_whole_sub_document_keeps_it(db):
    """The portable form: project `request`, not `request.text` (the embedded server drops dotted
    projections, docs/decisions/0006)."""
    await db.things.insert_one({"_id": 1, "request": {"text": "t", "lon": 1.0}, "label": {"code": "01"}})
    found = await db.things.find_one({"_id": 1}, {"request": 1, "label": 1})
    assert found == {"_id": 1, "request": {"text": "t", "lon": 1.0}, "label": {"code": "01"}}


async def test_an_ordered_bulk_write_across_collections_writes_in_order_and_stops_at_a_duplicate(db):
    await store.require_client_bulk_write(db.client)  # MongoDB 8.0 or later, as intake requires
    first = [InsertOne({"_id": "k", "n": 1}, namespace=db.a.full_name)]
    await db.client.bulk_write([*first, InsertOne({"_id": "k", "of": "k"}, namespace=db.b.full_name)])
    assert await db.a.find_one({"_id": "k"}) == {"_id": "k", "n": 1}
    assert await db.b.find_one({"_id": "k"}) == {"_id": "k", "of": "k"}

    with pytest.raises(ClientBulkWriteException) as raised:
        await db.client.bulk_write(
            [*first, InsertOne({"_id": "k2", "of": "k"}, namespace=db.b.full_name)], ordered=True
        )
    assert [(e["idx"], e["code"]) for e in raised.value.write_errors] == [(0, store.DUPLICATE_KEY)]
    assert await db.b.find_one({"_id": "k2"}) is None  # nothing after the failed write
