"""Supervision's deadlines and projections on the real (embedded) MongoDB server, with the clock moved.

The scanner acting once per alarm even when two run at once, deadlines across a holiday, the worklist
projection through a new route, the figures of a seeded history, and a mediation's hold on the case.
The transitions and permissions: test_supervision_lifecycle.py.
"""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from services.supervision import alarms, handlers
from tests.supervision_cases import (
    ASSISTING,
    CHINA,
    CLERK,
    HANDLER,
    KEEPER,
    SUPERVISOR,
    act,
    assigned,
    deadline,
    owed,
    route,
)

pytestmark = pytest.mark.integration


async def test_the_scanner_warns_marks_overdue_and_climbs_the_ladder_once_each(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")

    async def scan() -> int:
        return await alarms.scan(files=files, keeper=KEEPER, clock=clock)

    assert await scan() == 0
    clock.advance(timedelta(days=57, hours=1))  # inside the 3 days before the handling limit
    assert await scan() == 1
    doc = await files.get("c1")
    assert owed(doc)[-1] == subjects.CASE_DEADLINE_WARNING
    assert await scan() == 0  # a second pass finds nothing new
    clock.advance(timedelta(days=3))  # past the limit: overdue and the reminder (提醒函) at once
    assert await scan() == 2
    doc = await files.get("c1")
    assert doc["overdue_kinds"] == ["handling"] and [e["level"] for e in doc["escalations"]] == ["reminder"]
    clock.advance(timedelta(days=20))  # the supervision letter, the circular and the interview are due
    # two scanners at once (a restart overlapping the old pass): each alarm acts once
    results = await asyncio.gather(scan(), scan())
    assert sum(results) == 3
    doc = await files.get("c1")
    assert [e["level"] for e in doc["escalations"]] == [
        "reminder",
        "supervision_letter",
        "circular",
        "interview",
    ]
    assert doc["next_alarm_ts"] is None
    events = [e["event"] for e in doc["outbox"]]
    escalated = [e["data"]["level"] for e in events if e["type"] == subjects.CASE_ESCALATED]
    assert sorted(escalated) == sorted({"reminder", "supervision_letter", "circular", "interview"})
    assert len({e["id"] for e in events}) == len(events)
    # replying ends the watch
    await act(files, clock, HANDLER, "reply", result="resolved")
    assert await scan() == 0


async def test_the_sign_limit_counts_working_days_across_a_holiday(files):
    clock = FixedClock(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # Wednesday before the National Day week
    doc = await assigned(files, clock)
    assert deadline(doc, "sign")["due_at"] == datetime(2026, 10, 9, 0, 0, tzinfo=CHINA)
    clock.advance(timedelta(days=6))  # 6 October: a holiday, and not yet the warning (a fifth of the limit)
    assert await alarms.scan(files=files, keeper=KEEPER, clock=clock) == 0
    clock.advance(timedelta(days=2, hours=20))  # 9 October 06:00 in the county: past the limit
    assert await alarms.scan(files=files, keeper=KEEPER, clock=clock) == 2  # warning and overdue
    assert (await files.get("c1"))["overdue_kinds"] == ["sign"]


async def test_the_worklist_holds_the_lead_and_assisting_units_and_follows_a_new_route(files, clock):
    await assigned(files, clock)
    await assigned(files, clock, case_id="c2", flags=[], assisting_units=[])
    lines = [d async for d in files.worklist.find({"unit": "T1-GOV"}).sort("due_ts", 1)]
    assert [line["case_id"] for line in lines] == ["c1", "c2"] and lines[0]["role"] == "lead"
    assert lines[0]["due_kind"] == "sign" and lines[0]["open"] is True
    helper = [d async for d in files.worklist.find({"unit": "T1-PCS"})]
    assert [(h["case_id"], h["role"]) for h in helper] == [("c1", "assist")]
    other = {"code": "T2-GOV", "name": "另一镇政府", "type": "town_government", "role": "lead"}
    await assigned(files, clock, case_id="c2", lead=other, revision=2, flags=[], assisting_units=[])
    assert [d["case_id"] async for d in files.worklist.find({"unit": "T1-GOV"})] == ["c1"]
    assert [d["case_id"] async for d in files.worklist.find({"unit": "T2-GOV"})] == ["c2"]


async def test_a_new_route_for_a_case_answered_already_is_recorded_and_reopens_nothing(files, clock):
    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    await act(files, clock, HANDLER, "reply", result="resolved")
    other = {"code": "T2-GOV", "name": "另一镇政府", "type": "town_government", "role": "lead"}
    await route(files, clock, lead=other, revision=2, assisting_units=[])
    doc = await files.get("c1")
    assert doc["status"] == "replied" and doc["lead_unit"]["code"] == "T1-GOV"
    assert (doc["late_route"]["revision"], doc["late_route"]["lead_unit"]["code"]) == (2, "T2-GOV")
    assert owed(doc).count(subjects.CASE_ASSIGNED) == 1  # not handed out again
    assert [d async for d in files.worklist.find({"unit": "T2-GOV"})] == []
    await handlers.record_dispute("c1", "争议", 2, files=files, keeper=KEEPER)
    assert (await files.get("c1"))["status"] == "replied"
    await act(files, clock, CLERK, "followup", rating="dissatisfied", reopen=True)  # people reopen it
    assert (await files.get("c1"))["status"] == "reopened"


async def test_the_figures_of_a_seeded_history_are_the_known_answers(files, clock):
    from services.supervision.domain import kpis

    async def figures(group_by: str = "unit", **query) -> dict:
        rows = kpis.summarize(await files.rollup_rows(query), group_by)
        return {r[group_by]: r for r in rows}

    start = clock.now()
    for case_id in ("c1", "c2", "c3", "c4"):
        clock.set(start)  # every case assigned on the same Monday morning
        await assigned(files, clock, case_id=case_id, flags=["mediation"] if case_id == "c1" else [])
    clock.set(start + timedelta(hours=1))
    await act(files, clock, HANDLER, "sign", case_id="c1")
    await act(files, clock, HANDLER, "sign", case_id="c3")
    clock.set(start + timedelta(days=3))  # after the sign limit (1 working day)
    await act(files, clock, HANDLER, "sign", case_id="c2")
    clock.set(start + timedelta(days=10))
    await act(files, clock, HANDLER, "reply", case_id="c1", result="resolved")
    await act(files, clock, CLERK, "followup", case_id="c1", rating="satisfied")
    clock.set(start + timedelta(days=70))  # after the 60-day handling limit
    await act(files, clock, HANDLER, "reply", case_id="c2", result="explained")
    await act(files, clock, CLERK, "followup", case_id="c2", rating="basically_satisfied")

    row = (await figures())["T1-GOV"]
    assert row["counts"]["assigned"] == 4
    assert row["response_rate"] == 0.5  # c1 and c3 signed in time
    assert row["on_time_reply_rate"] == 0.25  # c1 only
    assert row["resolution_rate"] == 0.5  # c1 of the two replies
    assert row["satisfaction_rate"] == 1.0  # 满意 and 基本满意
    assert row["dispute_resolution_rate"] == 1.0  # c1, the one mediation case, resolved
    assert row["average_handling_hours"] == (10 * 24 + 70 * 24) / 2
    assert (await figures("period"))["2026-03"]["counts"]["assigned"] == 4
    assert (await figures("category"))["02"]["counts"]["replied"] == 2

    # a new route moves the case's counts to the new lead unit
    other = {"code": "T2-GOV", "name": "另一镇政府", "type": "town_government", "role": "lead"}
    await assigned(files, clock, case_id="c4", lead=other, revision=2)
    by_unit = await figures()
    assert by_unit["T1-GOV"]["counts"]["assigned"] == 3 and by_unit["T2-GOV"]["counts"]["assigned"] == 1
    # rebuilt from the case files, the rollups and the worklist say the same
    rebuilt = await files.reproject(CHINA)
    assert rebuilt == {"case_files": 4, "rollup_rows": 2}
    assert await figures() == by_unit
    assert sorted([d["case_id"] async for d in files.worklist.find({"unit": "T1-GOV"})]) == ["c1", "c2", "c3"]

    assert (await figures(unit="T2-GOV"))["T2-GOV"]["response_rate"] == 0.0


async def test_a_mediation_puts_its_limit_on_the_case_and_holds_the_case_while_it_runs(files, clock):
    from services.supervision import handlers

    await assigned(files, clock)
    await act(files, clock, HANDLER, "sign")
    opened = {
        "mediation_id": "m1",
        "case_id": "c1",
        "organization": {"code": "V1-TJW", "name": "调委会", "type": "people"},
        "deadline": {
            "kind": "mediation",
            "label": "人民调解期限",
            "due_at": (clock.now() + timedelta(days=30)).isoformat(),
            "basis": "人民调解法",
        },
    }
    for _ in range(2):  # a redelivery applies once
        await handlers.record_mediation(
            "c1", subjects.MEDIATION_OPENED, opened, at=clock.now(), files=files, keeper=KEEPER
        )
    doc = await files.get("c1")
    assert doc["status"] == "in_mediation" and len(doc["external_deadlines"]) == 1
    assert deadline(doc, "mediation")["due_at"] == clock.now() + timedelta(days=30)
    # handling goes on beside it, and the case stays in mediation until the mediation concludes
    doc = await act(files, clock, ASSISTING, "progress", "调解中")
    assert doc["status"] == "in_mediation"
    await act(files, clock, HANDLER, "extension", "调解需要时间", days=10)
    doc = await act(files, clock, SUPERVISOR, "extension_decision", "同意", approve=True)
    assert doc["status"] == "in_mediation" and deadline(doc, "handling")["extended_days"] == 10
    clock.advance(timedelta(days=31))
    assert await alarms.scan(files=files, keeper=KEEPER, clock=clock) >= 2  # the mediation limit passed
    assert "mediation" in (await files.get("c1"))["overdue_kinds"]
    await handlers.record_mediation(
        "c1",
        subjects.MEDIATION_CONCLUDED,
        {"mediation_id": "m1", "case_id": "c1"},
        at=clock.now(),
        files=files,
        keeper=KEEPER,
    )
    doc = await files.get("c1")
    assert deadline(doc, "mediation")["met_at"] == clock.now()
    assert doc["status"] == "extended"  # the state the handling reached meanwhile


async def test_a_dispute_resolved_by_a_mediation_agreement_counts_in_the_dispute_resolution_rate(
    files, clock
):
    from services.supervision.domain import kpis

    async def disputes() -> dict:
        rows = kpis.summarize(await files.rollup_rows({}), "unit")
        return next(r for r in rows if r["unit"] == "T1-GOV")

    await assigned(files, clock, case_id="c1", flags=["mediation"])
    await assigned(files, clock, case_id="c2", flags=[])
    for case_id, result in (("c1", "agreed"), ("c2", "failed")):
        await act(files, clock, HANDLER, "sign", case_id=case_id)
        opened = {"mediation_id": f"m-{case_id}", "case_id": case_id, "organization": None}
        await handlers.record_mediation(
            case_id, subjects.MEDIATION_OPENED, opened, at=clock.now(), files=files, keeper=KEEPER
        )
        concluded = {"mediation_id": f"m-{case_id}", "case_id": case_id, "result": result}
        await handlers.record_mediation(
            case_id, subjects.MEDIATION_CONCLUDED, concluded, at=clock.now(), files=files, keeper=KEEPER
        )
    row = await disputes()
    # both are disputes (c2 because a mediation was opened for it); c1's agreement resolved it, unreplied
    assert (row["counts"]["disputes"], row["counts"]["disputes_resolved"]) == (2, 1)
    assert row["dispute_resolution_rate"] == 0.5
    assert (await files.reproject(CHINA))["case_files"] == 2  # the rebuilt rollups say the same
    assert (await disputes())["counts"]["disputes_resolved"] == 1
