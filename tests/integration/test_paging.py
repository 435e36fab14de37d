"""Cursor pagination on the real (embedded) MongoDB server: every document once, in order, however
the sort values tie, in both directions, and a cursor it did not give is refused."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch_common import paging, store

pytestmark = pytest.mark.integration


@pytest.fixture
async def col(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-paging")
    col = client[f"{db_prefix}paging"]["items"]
    await col.create_index("ts")
    yield col
    await client.drop_database(f"{db_prefix}paging")
    await client.close()


async def walk(col, *, limit: int, descending: bool = False, query=None) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        found = await paging.page(
            col, query or {"ts": {"$gte": 0}}, sort="ts", limit=limit, cursor=cursor, descending=descending
        )
        pages.append([d["_id"] for d in found.items])
        if found.next_cursor is None:
            return pages
        cursor = found.next_cursor


async def test_pages_cover_every_document_once_in_order_across_ties(col):
    # five documents share one sort value: a page boundary falls inside the tie
    docs = [{"_id": f"d{i:02}", "ts": 100 if 3 <= i < 8 else i} for i in range(12)] + [{"_id": "none"}]
    await col.insert_many(docs)
    pages = await walk(col, limit=4)
    assert [len(p) for p in pages] == [4, 4, 4]
    flat = [i for p in pages for i in p]
    expected = sorted((d for d in docs if "ts" in d), key=lambda d: (d["ts"], d["_id"]))
    assert flat == [d["_id"] for d in expected]
    backwards = [i for p in await walk(col, limit=5, descending=True) for i in p]
    assert backwards == flat[::-1]
    ranged = [i for p in await walk(col, limit=2, query={"ts": {"$gte": 0, "$lte": 10}}) for i in p]
    assert ranged == ["d00", "d01", "d02", "d08", "d09", "d10"]


async def test_a_cursor_the_list_did_not_give_is_refused(col):
    for bad in ("not-a-cursor", "W3t9XQ", paging.encode({"$gt": 1}, "x")[:-2]):
        with pytest.raises(paging.BadCursor):
            await paging.page(col, {}, sort="ts", limit=1, cursor=bad)


async def test_pages_over_a_datetime_cover_every_document_once_within_one_second(col):
    # the embedded server compares datetime ranges in whole seconds; the cursor's own comparison keeps
    # the milliseconds, so items of the same second are neither repeated nor skipped
    base = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)
    docs = [{"_id": f"t{i:02}", "at": base + timedelta(milliseconds=7 * (i % 6))} for i in range(12)]
    await col.insert_many(docs)
    cursor, seen = None, []
    while True:
        found = await paging.page(col, {"at": {"$gte": base}}, sort="at", limit=5, cursor=cursor)
        seen += [d["_id"] for d in found.items]
        if found.next_cursor is None:
            break
        cursor = found.next_cursor
    assert seen == [d["_id"] for d in sorted(docs, key=lambda d: (d["at"], d["_id"]))]
