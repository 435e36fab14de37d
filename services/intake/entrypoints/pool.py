"""The data pool (数据池) over HTTP: import a batch of facts from another system, list the batches,
withdraw one (its facts leave every profile; the batch record stays)."""

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from dispatch_common import etag, paging
from dispatch_common.problems import invalid
from services.intake.domain import pool
from services.intake.entrypoints.deps import TOO_MANY, CurrentUser, IntakeDeps, limited
from services.intake.entrypoints.profile import parts
from services.intake.entrypoints.profile_schemas import Batch, Batches, BatchImport, Withdrawal

router = APIRouter(prefix="/v1/pool", tags=["data pool"], responses=TOO_MANY)


def batch_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored batch as the API shows it."""
    return {
        "batch_id": doc["_id"],
        **{k: v for k, v in doc.items() if k not in ("_id", "imported_ts")},
    }


@router.post(
    "/batches",
    dependencies=[limited("submit")],
    status_code=status.HTTP_201_CREATED,
    response_model=Batch,
    responses={201: {"headers": etag.ETAG_HEADER}},
    summary="Import a batch of facts from another system (all rows or none)",
)
async def import_pool_batch(
    body: BatchImport, user: CurrentUser, intake: IntakeDeps, response: Response
) -> dict[str, Any]:
    """Check every row (ID number and/or phone, reference, date...), key the person as intake keys a
    petitioner, and store the batch with its facts; one bad row refuses the batch with each bad row's
    number and field (`errors[].loc`: `["body", "rows"|"csv", <row from 1>, <field>]`)."""
    desk = parts(intake)
    if body.kind not in desk.policy.kinds:
        known = ", ".join(sorted(desk.policy.kinds))
        raise invalid([{"loc": ["body", "kind"], "msg": f"not a kind the profile policy names ({known})"}])
    where = "rows" if body.rows is not None else "csv"
    raw = body.rows if body.rows is not None else pool.csv_rows(body.csv or "")
    parsed = await asyncio.to_thread(pool.parse_rows, raw, where=where)
    if parsed.errors:
        raise invalid(parsed.errors)
    if not parsed.rows:
        raise invalid([{"loc": ["body", where], "msg": "the batch has no rows"}])
    facts = await asyncio.to_thread(pool.fact_documents, intake.keys, parsed.rows, kind=body.kind)
    now = intake.clock.now()
    batch = {
        "source": body.source,
        "kind": body.kind,
        "source_date": body.source_date.isoformat(),
        "use_note": body.use_note,
        "retain_until": body.retain_until.isoformat() if body.retain_until else None,
        "facts": len(parsed.rows),
        "imported_by": user.subject,
        "imported_at": now,
        "imported_ts": int(now.timestamp() * 1000),
        "withdrawal": None,
    }
    stored = await desk.pool.add(batch, facts)
    etag.send(response, stored["revision"])
    return batch_view(stored)


@router.get(
    "/batches",
    dependencies=[limited("read")],
    response_model=Batches,
    summary="The imported batches, newest first",
)
async def list_pool_batches(
    user: CurrentUser, intake: IntakeDeps, limit: paging.Limit = 100, cursor: paging.Cursor = None
) -> dict[str, Any]:
    """Every batch ever imported, withdrawn ones too; `next_cursor` reads on (null: the last page)."""
    found = await parts(intake).pool.page(limit=limit, cursor=cursor)
    return {"items": [batch_view(d) for d in found.items], "limit": limit, "next_cursor": found.next_cursor}


@router.post(
    "/withdrawals",
    dependencies=[limited("submit")],
    response_model=Batch,
    responses={
        200: {"headers": etag.ETAG_HEADER},
        404: {"description": "no such batch"},
        409: {"description": "the batch is not active"},
    },
    summary="Withdraw a batch: its facts leave every profile, the batch record stays",
)
async def withdraw_pool_batch(
    body: Withdrawal, user: CurrentUser, intake: IntakeDeps, version: etag.Versioned
) -> dict[str, Any]:
    """Mark the batch withdrawn (who, when, why) and delete its facts; `If-Match`: the batch's ETag
    (its `revision`, as the import and the list give it)."""
    pool_ = parts(intake).pool
    doc = await pool_.get(body.batch_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no batch {body.batch_id}")
    if doc["status"] != "active":
        raise HTTPException(status.HTTP_409_CONFLICT, f"batch {body.batch_id} is {doc['status']}, not active")
    version.require(doc["revision"])
    by = {"subject": user.subject, "role": user.role.value}
    if not await pool_.withdraw(doc, by=by, at=intake.clock.now(), reason=body.reason):
        raise etag.stale((await pool_.get(body.batch_id) or doc)["revision"])
    current = await pool_.get(body.batch_id) or doc
    version.send(current["revision"])
    return batch_view(current)
