"""Each read a profile opening makes, timed alone against the stored cases (the embedded server has no
explain plans: a read that scans shows as a time that grows with the cases stored, an indexed one
as a time that follows the petitioner's own cases). One petitioner's case in, milliseconds out, with
a deliberate scan (a field no index covers) for scale."""

import time
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase


async def _ms(read: Callable[[], Awaitable[Any]]) -> float:
    t = time.perf_counter()
    await read()
    return round((time.perf_counter() - t) * 1000, 2)


async def read_timings(db: AsyncDatabase, case_id: str) -> dict[str, Any]:
    """The reads of GET /v1/cases/{case_id}/profile for this case's petitioner, one after the other."""
    case = await db["cases"].find_one({"_id": case_id})
    assert case is not None
    keys = list(case["petitioner_keys"])
    phone = case["petitioner"].get("phone_hash")
    ids: list[str] = []

    async def cases_of() -> None:
        for key in keys:
            ids.extend(d["_id"] for d in await db["case_history"].find({"petitioner_hash": key}).to_list())

    out: dict[str, Any] = {"cases_of_petitioner": await _ms(cases_of)}
    n = max(1, len(ids))
    out["identity_link_by_phone"] = await _ms(lambda: db["identity_links"].find({"phone": phone}).to_list())
    out["case_by_id_each"] = round(
        sum([await _ms(lambda c=c: db["cases"].find_one({"_id": c})) for c in ids]) / n, 2
    )
    records: list[dict[str, Any]] = []

    async def outcomes() -> None:
        for c in ids:
            records.extend(await db["profile_outcomes"].find({"case_id": c}).to_list())

    out["outcomes_by_case_each"] = round(await _ms(outcomes) / n, 2)
    entries = {r["entry_id"] for r in records if r.get("kind") == "ledger_link"}
    out["entry_records_each"] = round(
        sum([await _ms(lambda e=e: db["profile_outcomes"].find({"entry_id": e}).to_list()) for e in entries])
        / max(1, len(entries)),
        2,
    )
    out["entries_by_party_key"] = await _ms(
        lambda: db["profile_outcomes"].find({"party_key": keys[-1]}).to_list()
    )
    out["facts_by_key"] = await _ms(lambda: db["pool_facts"].find({"key": keys[0]}).to_list())
    out["audit_of_case"] = await _ms(lambda: db["pii_audit"].find({"case_id": case_id}).to_list())
    out["scan_for_scale"] = await _ms(lambda: db["cases"].find({"submitted_by": "nobody"}).to_list())
    out["petitioner_cases"] = len(ids)
    return out
