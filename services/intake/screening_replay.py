"""What-if replay of the screening rules (甄别规则回放): the cases registered in a period screened
again with candidate rules, beside the rules in use, without changing anything; and the approval record
of rules activated on a replay's report.

Both sides are screened by the same `Screener.screen` registration calls, from what intake stored of
each case (domain/screening_replay.py). The clear text is opened inside the job with the service's
keys, only in memory: what is written (the job, its differences) holds outcomes, reasons, rule ids and
the rules' phrases, never the case's text.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.free_text import reveal
from dispatch_common.jobs import Job, in_batches
from services.intake.container import Intake
from services.intake.domain.protection import case_aad
from services.intake.domain.screening import Screener, ScreeningRules
from services.intake.domain.screening_replay import PROJECTION, Tally, question, side

BATCH = 500  # cases read, opened and screened (in one thread hop) and written per step
OPENED = ("text", "address")  # the free-text fields screening reads


def load_candidate(files: dict[str, str], intake: Intake) -> Screener:
    """The candidate rules: the files sent, the others the text of the rules in use; validated by the
    loader's own checks (ScreeningRulesError lists every problem)."""
    return Screener(ScreeningRules.from_texts(intake.screening.texts | files))


def clear_fields(intake: Intake, case: dict[str, Any]) -> dict[str, str]:
    """The clear text of the fields screening reads whose numbers were sealed."""
    sealed = case.get("free_text_pii") or {}
    out = {}
    for name in OPENED:
        masked = case.get(name)
        if sealed.get(name) and masked is not None:
            out[name] = reveal(intake.keys, masked, sealed[name], aad=case_aad(case["_id"], name))
    return out


def outside(intake: Intake, case: dict[str, Any]) -> bool | None:
    """What registration asked of the point: outside the county boundary, or None without one."""
    loc = case.get("location") or {}
    lon, lat = loc.get("lon"), loc.get("lat")
    return None if lon is None or lat is None else not intake.boundary.contains(lon, lat)


def whole_seconds(start: datetime, end: datetime) -> dict[str, datetime]:
    """A range of whole seconds around [start, end), filtered exactly as the cases come: the embedded
    server's `find` compares datetimes in whole seconds (docs/architecture.md, "Known gaps")."""
    up = end.replace(microsecond=0)
    return {"$gte": start.replace(microsecond=0), "$lt": up + timedelta(seconds=1) if up != end else up}


def compare(
    intake: Intake, baseline: Screener, candidate: Screener, cases: list[dict[str, Any]], tally: Tally
) -> list[dict[str, Any]]:
    """Screen each stored case by both rules; the differences (run in a thread)."""
    out: list[dict[str, Any]] = []
    for case in cases:
        asked = question(case, clear_fields(intake, case), outside(intake, case))
        before, after = baseline.screen(asked), candidate.screen(asked)
        stored = case.get("screening") or {}
        parts = tally.add(stored, before, after)
        if not parts:
            continue
        withheld = bool(case.get("confidential")) or before.confidential or after.confidential
        out.append(
            {
                "case_id": case["_id"],
                "case_no": case["case_no"],
                "received_at": case["received_at"],
                "channel": case["channel"],
                "confidential": withheld,
                "stored_outcome": stored.get("outcome"),
                "changed": parts,
                "before": side(before, withheld=withheld),
                "after": side(after, withheld=withheld),
            }
        )
    return out


async def run(
    job: Job, *, intake: Intake, baseline: Screener, candidate: Screener, start: datetime, end: datetime
) -> dict[str, Any]:
    """Replay the cases received in [start, end) in order of receipt, saving progress at each step."""
    query = {"received_at": {"$gte": start, "$lt": end}}
    cases = intake.cases.cases
    total = await cases.count_documents(query)
    wide = {"received_at": whole_seconds(start, end)}
    job.progress(0, total)
    await job.save()
    tally = Tally()

    async def step(batch: list[dict[str, Any]]) -> None:
        found = await asyncio.to_thread(compare, intake, baseline, candidate, batch, tally)
        await job.add_items(found)
        job.progress(tally.cases, max(total, tally.cases))
        await job.save()

    found = cases.find(wide, PROJECTION).sort("received_at", 1)
    await in_batches(found, BATCH, step, keep=lambda doc: start <= doc["received_at"] < end)
    return tally.result()


async def record_approval(
    approvals: AsyncCollection, replay: dict[str, Any], *, by: str, at: datetime
) -> dict[str, Any]:
    """Record that the rules `replay` tried are in force, approved on that replay's report."""
    doc = {
        "_id": f"{replay['candidate_digest']}:{replay['_id']}:{at.isoformat()}",
        "rules_digest": replay["candidate_digest"],
        "rules_version": replay["candidate_version"],
        "replaced_digest": replay["baseline_digest"],
        "replay_id": replay["_id"],
        "period": replay["period"],
        "report": replay["result"] or {},
        "approved_by": by,
        "approved_at": at,
    }
    await approvals.insert_one(doc)
    return doc
