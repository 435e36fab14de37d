"""The audits of personal-data reads page by cursor like every list: a confidential report's read
audit (every service's `confidential_reads`) and intake's unmasked reads of a case (`pii_audit`),
whose ids the database makes (ObjectIds: the cursor holds their hex)."""

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from fastapi import HTTPException

from dispatch_common import store
from dispatch_common.auth import Principal, Role
from dispatch_common.clock import FixedClock
from dispatch_common.confidential import ReadAudit
from services.intake.adapters.repository import CaseRepository

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(mongodb_url: str, db_prefix: str):  # type: ignore[no-untyped-def]
    client = store.connect(mongodb_url, app_name="test-audit-paging")
    yield client[f"{db_prefix}audit"]
    await client.drop_database(f"{db_prefix}audit")
    await client.close()


async def test_the_read_audit_pages_newest_first_with_the_old_entries_among_them(db) -> None:
    legacy = [
        {
            "_id": ObjectId(),
            "case_id": "c1",
            "subject": f"old-{i}",
            "role": "auditor",
            "unit": None,
            "what": "case file",
            "at": T0 + timedelta(minutes=i),
            "at_ts": int((T0 + timedelta(minutes=i)).timestamp() * 1000),
        }
        for i in range(2)
    ]
    await db["confidential_reads"].insert_many(legacy)
    clock = FixedClock(T0 + timedelta(minutes=10))
    audit = ReadAudit(db, clock)
    await audit.ensure_indexes()
    reader = Principal(subject="now", role=Role.SUPERVISOR)
    for case_id in ("c1", "c2", "c1"):
        await audit.record(reader, [case_id], "case file")
    seen, cursor = [], None
    while True:
        page = await audit.entries(case_id="c1", limit=2, cursor=cursor)
        seen += [(e["subject"], e["_id"]) for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [s for s, _ in seen] == ["now", "now", "old-1", "old-0"]
    assert len({i for _, i in seen}) == 4
    with pytest.raises(HTTPException) as refused:
        await audit.entries(case_id="c1", limit=2, cursor="not-a-cursor")
    assert refused.value.status_code == 422


async def test_intakes_unmasked_reads_of_a_case_page_oldest_first(db) -> None:
    await db["pii_audit"].insert_one(
        {
            "_id": ObjectId(),
            "case_id": "c1",
            "subject": "before",
            "role": "auditor",
            "fields": ["phone"],
            "at": T0,
            "reason": "核查",
        }
    )
    cases = CaseRepository(db)
    await cases.ensure_indexes()
    for i in range(1, 4):
        await cases.audit_unmasked_read(
            case_id="c1",
            subject=f"r{i}",
            role="dispatcher",
            fields=["name"],
            at=T0 + timedelta(hours=i),
            reason="回访",
        )
    first = await cases.audit_entries("c1", 2, None)
    rest = await cases.audit_entries("c1", 2, first.next_cursor)
    assert [e["subject"] for e in first.items + rest.items] == ["before", "r1", "r2", "r3"]
    assert rest.next_cursor is None
