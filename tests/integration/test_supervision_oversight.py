"""Oversight on the real (embedded) MongoDB server: early warnings, the daily inspection, leader
case-holding, joint supervision and the recommendation powers."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch_common import store, subjects
from dispatch_common.paths import DATA_DIR
from services.supervision import alarms, commands, recommendations
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.lifecycle import NotEntitled
from services.supervision.warnings import WarningPolicy, Warnings
from tests.supervision_cases import HANDLER, KEEPER, SUPERVISOR, assigned

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-supervision-oversight")
    yield client[f"{db_prefix}supervision"]
    await client.drop_database(f"{db_prefix}supervision")
    await client.close()


@pytest.fixture
async def files(db):
    files = CaseFiles(db)
    await files.ensure_indexes()
    return files


@pytest.fixture
async def warnings(db, clock):
    policy = WarningPolicy.load(DATA_DIR / "policy" / "warnings.json")
    w = Warnings(db["warnings"], db["cluster_marks"], policy, ZoneInfo("Asia/Shanghai"), clock)
    await w.ensure_indexes()
    return w


async def raised(warnings: Warnings, kind: str) -> list[dict]:
    return [d async for d in warnings.warnings.find({"kind": kind})]


async def test_a_cluster_of_one_category_in_one_village_is_warned_once(files, warnings, clock):
    threshold = warnings.policy.cluster.threshold
    for i in range(threshold - 1):
        doc = await assigned(files, clock, case_id=f"c{i}")
        assert not await warnings.on_assigned(doc, clock.now())
        assert not await warnings.on_assigned(doc, clock.now())  # a redelivery counts the case once
        clock.advance(timedelta(days=1))
    elsewhere = await assigned(
        files, clock, case_id="far", jurisdiction={"town": "T1", "village": "V2", "grid": None}
    )
    assert not await warnings.on_assigned(elsewhere, clock.now())
    doc = await assigned(files, clock, case_id="last")
    assert await warnings.on_assigned(doc, clock.now())
    [warning] = await raised(warnings, "cluster")
    assert warning["count"] == threshold and warning["area"] == "V1" and warning["category"] == "02"
    assert [e["event"]["type"] for e in warning["outbox"]] == [subjects.WARNING_RAISED]
    doc = await assigned(files, clock, case_id="one-more")
    assert not await warnings.on_assigned(doc, clock.now())  # the same window: no second warning
    assert len(await raised(warnings, "cluster")) == 1


async def test_cases_outside_the_window_do_not_make_a_cluster(files, warnings, clock):
    window = warnings.policy.cluster.window_days
    for i in range(warnings.policy.cluster.threshold - 1):
        doc = await assigned(files, clock, case_id=f"old{i}")
        await warnings.on_assigned(doc, clock.now())
    clock.advance(timedelta(days=window))
    doc = await assigned(files, clock, case_id="new")
    assert not await warnings.on_assigned(doc, clock.now())


async def test_a_petitioners_third_repeat_is_warned_naming_the_case_only(warnings):
    repeat = {"repeat_of": {"case_id": "a", "case_no": "N-a", "similarity": 0.8}}
    assert not await warnings.on_screened("c2", "N-c2", repeat | {"earlier_cases": 1})
    assert not await warnings.on_screened("c3", "N-c3", {"repeat_of": None, "earlier_cases": 5})
    assert await warnings.on_screened("c4", "N-c4", repeat | {"earlier_cases": 2})
    assert not await warnings.on_screened("c4", "N-c4", repeat | {"earlier_cases": 2})
    [warning] = await raised(warnings, "repeat")
    assert warning["case_no"] == "N-c4" and warning["count"] == 3 and "N-a" in warning["reason"]


async def test_the_trend_report_lists_categories_above_last_years_month(files, warnings, clock):
    rows = [
        ("2025-03", "02", 10),
        ("2026-03", "02", 13),
        ("2025-03", "04", 10),
        ("2026-03", "04", 11),
        ("2026-03", "05", 12),
        ("2026-03", "06", 3),
    ]
    for period, category, assigned_count in rows:
        key = {"period": period, "unit": "U", "town": "T", "category": category, "tier": "general"}
        await files.roll_up([(key, {"assigned": assigned_count})])
    report = await warnings.trend_report(files.rollups, "2026-03")
    assert [(r["category"], r["count"], r["last_year"]) for r in report] == [("02", 13, 10), ("05", 12, 0)]
    assert report[0]["increase"] == 0.3
    clock.set(clock.now().replace(month=4, day=1))
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert await warnings.raise_trends(files.rollups, today) == 2
    assert await warnings.raise_trends(files.rollups, today) == 0  # once per month and category


async def test_the_inspection_flag_follows_overdue_open_cases(files, clock):
    await assigned(files, clock)
    clock.advance(timedelta(days=3))  # past the one-working-day sign limit
    await alarms.scan(files=files, keeper=KEEPER, clock=clock)
    assert (await files.get("c1"))["overdue_open"] is True
    await commands.act(
        "c1", commands.Command("sign"), caller=HANDLER, files=files, keeper=KEEPER, clock=clock
    )
    assert (await files.get("c1"))["overdue_open"] is False  # signed late, but no longer waiting


async def test_a_leader_holds_a_key_case_and_recommendations_are_recorded(files, clock):
    await assigned(files, clock)
    details = {"leader": "张副县长", "responsibilities": "牵头协调", "plan": "一案一策：两周内现场办公"}
    with pytest.raises(NotEntitled):
        await commands.act(
            "c1",
            commands.Command("leader_holding", None, details),
            caller=HANDLER,
            files=files,
            keeper=KEEPER,
            clock=clock,
        )
    doc = await commands.act(
        "c1",
        commands.Command("leader_holding", None, details),
        caller=SUPERVISOR,
        files=files,
        keeper=KEEPER,
        clock=clock,
    )
    assert doc["key_case"] is True and doc["leader_holding"]["plan"].startswith("一案一策")
    assert doc["status"] == "assigned"  # oversight does not move the case
    doc = await commands.act(
        "c1",
        commands.Command("joint_supervision", "涉嫌推诿", {"with": "县纪委监委"}),
        caller=SUPERVISOR,
        files=files,
        keeper=KEEPER,
        clock=clock,
    )
    assert doc["joint_supervision"]["with"] == "县纪委监委"
    assert [e["event"]["type"] for e in doc["outbox"]][-2:] == [
        subjects.CASE_SUPERVISED,
        subjects.CASE_SUPERVISED,
    ]
    rec = await recommendations.recommend(
        "T1-GOV", "improve_work", "建立回访台账", "c1", caller=SUPERVISOR, files=files, clock=clock
    )
    stored = await files.recommendations.find_one({"_id": rec["recommendation_id"]})
    assert (
        stored["kind"] == "improve_work"
        and stored["outbox"][0]["event"]["type"] == subjects.RECOMMENDATION_MADE
    )


async def test_a_counselling_crisis_and_an_escalated_mediation_alert_supervisors_once(warnings):
    crisis = {
        "referral_id": "r1",
        "case_id": "c1",
        "case_no": "N-c1",
        "risk_level": "high",
        "note": "扬言轻生",
        "police_station": {"code": "T1-PCS", "name": "派出所"},
    }
    assert await warnings.on_danger(subjects.REFERRAL_CRISIS, crisis)
    assert not await warnings.on_danger(subjects.REFERRAL_CRISIS, crisis)  # a redelivery: once
    grown = {
        "mediation_id": "m1",
        "case_id": "c1",
        "case_no": "N-c1",
        "reason": "人数增加并有威胁",
        "police_station": None,
    }
    assert await warnings.on_danger(subjects.MEDIATION_ESCALATED, grown)
    [alert] = await raised(warnings, "crisis")
    assert alert["police_station"] == "T1-PCS" and "high" in alert["reason"]
    assert alert["outbox"][0]["event"]["data"]["kind"] == "crisis"
    [escalation] = await raised(warnings, "escalation")
    assert escalation["source_id"] == "m1"


async def test_cases_stuck_between_two_steps_are_counted_and_listed(files, clock):
    from services.supervision import handlers
    from services.supervision.domain.events import CaseReceivedView, CaseScreenedView
    from services.supervision.metrics import STUCK_CASES
    from services.supervision.stuck import StuckCases

    def received(case_id: str) -> CaseReceivedView:
        return CaseReceivedView(
            case_id=case_id, case_no=f"N-{case_id}", received_at=clock.now(), channel="hotline_12345"
        )

    await handlers.open_case_file(received("never-screened"), files=files, keeper=KEEPER)
    await handlers.open_case_file(received("never-routed"), files=files, keeper=KEEPER)
    screened = CaseScreenedView(**received("never-routed").model_dump(), outcome="accepted")
    await handlers.record_screening(screened, files=files, keeper=KEEPER, at=clock.now())
    await assigned(files, clock, case_id="went-through")
    watch = StuckCases(files, timedelta(minutes=15))

    assert await watch.sweep(clock.now()) == []  # young: still on their way
    clock.advance(timedelta(minutes=16))
    stuck = {d["_id"]: d for d in await watch.sweep(clock.now())}
    assert set(stuck) == {"never-screened", "never-routed"}
    assert "never screened" in stuck["never-screened"]["why"]
    assert "never routed" in stuck["never-routed"]["why"]
    assert STUCK_CASES.labels("registered")._value.get() == 1
    assert STUCK_CASES.labels("accepted")._value.get() == 1


async def test_supervisors_queues_list_what_waits_for_them_oldest_first_a_page_at_a_time(db, files, clock):
    from types import SimpleNamespace

    from fastapi import HTTPException

    from dispatch_common.confidential import Confidentiality
    from services.supervision import handlers
    from services.supervision.entrypoints import queues
    from tests.supervision_cases import CLERK, DISPATCHER

    sv = SimpleNamespace(
        files=files, confidentiality=Confidentiality.build(DATA_DIR / "county" / "990102", db, clock)
    )

    async def act(case_id, caller, action, **details):
        cmd = commands.Command(action, "说明理由", details or None)
        return await commands.act(case_id, cmd, caller=caller, files=files, keeper=KEEPER, clock=clock)

    for case_id in ("e1", "e2", "e3", "r1", "d1"):
        await assigned(files, clock, case_id=case_id)
        await act(case_id, HANDLER, "sign") if case_id != "d1" else None
    for case_id in ("e2", "e1", "e3"):  # asked in this order
        clock.advance(timedelta(minutes=5))
        await act(case_id, HANDLER, "extension", days=10)
    await act("e3", SUPERVISOR, "extension_decision", approve=False)  # decided: leaves the queue
    await act("r1", HANDLER, "reply", result="not_supported")
    await act("r1", CLERK, "review")
    await handlers.record_dispute("d1", "管辖争议", 1, files=files, keeper=KEEPER)

    first = await queues.extensions(user=SUPERVISOR, sv=sv, limit=1, cursor=None)
    assert [i["case_id"] for i in first["items"]] == ["e2"] and first["next_cursor"]
    assert first["items"][0]["extension_request"]["days"] == 10
    second = await queues.extensions(user=SUPERVISOR, sv=sv, limit=1, cursor=first["next_cursor"])
    assert [i["case_id"] for i in second["items"]] == ["e1"] and second["next_cursor"] is None
    # a role that does not read confidential reports sees the same (none of these is one)
    dispatcher = await queues.extensions(user=DISPATCHER, sv=sv, limit=50, cursor=None)
    assert [i["case_id"] for i in dispatcher["items"]] == ["e2", "e1"]
    reviews = await queues.reviews(user=SUPERVISOR, sv=sv, stage=None, limit=50, cursor=None)
    assert [i["case_id"] for i in reviews["items"]] == ["r1"]
    assert (await queues.reviews(user=SUPERVISOR, sv=sv, stage="re_review", limit=50, cursor=None))[
        "items"
    ] == []
    disputes = await queues.disputes(user=SUPERVISOR, sv=sv, limit=50, cursor=None)
    assert [(i["case_id"], i["dispute_reason"]) for i in disputes["items"]] == [("d1", "管辖争议")]
    with pytest.raises(HTTPException) as refused:
        await queues.disputes(user=SUPERVISOR, sv=sv, limit=50, cursor="not-a-cursor")
    assert refused.value.status_code == 422


async def test_the_daily_inspection_is_compiled_once_stored_and_read_to_the_end(db, files, clock):
    from types import SimpleNamespace

    from dispatch_common.auth import Principal, Role, Scope
    from dispatch_common.confidential import Confidentiality
    from services.supervision.entrypoints.inspection import inspection, inspection_list
    from services.supervision.inspection import Inspections, county_day, due
    from services.supervision.stuck import StuckCases

    many = 1_205  # more than the 1,000 the lists once stopped at
    await files.files.insert_many(
        [
            {"_id": f"o{i:04}", "case_no": f"N-o{i}", "status": "in_progress", "overdue_open": True}
            for i in range(many)
        ]
        + [
            {
                "_id": "secret",
                "case_no": "N-s",
                "status": "in_progress",
                "overdue_open": True,
                "confidential": True,
            }
        ]
        + [{"_id": "twice", "case_no": "N-t", "status": "in_progress", "reopen_count": 2}]
    )
    inspections = Inspections.of(db)
    await inspections.ensure_indexes()
    sv = SimpleNamespace(
        files=files,
        keeper=KEEPER,
        clock=clock,
        inspections=inspections,
        stuck=StuckCases(files, timedelta(minutes=15)),
        confidentiality=Confidentiality.build(DATA_DIR / "county" / "990102", db, clock),
    )
    day = county_day(clock.now(), KEEPER.timezone)
    assert due(clock.now(), KEEPER.timezone, 7) and not due(clock.now(), KEEPER.timezone, 23)
    report = await inspections.compile(files, day=day, now=clock.now(), stuck_after=timedelta(minutes=15))
    assert report["counts"] == {"overdue": many + 1, "irregular": 1, "stuck": 0, "ledger": 0}
    # a second replica (or a second look) finds it compiled and leaves it
    await files.files.insert_one({"_id": "late", "case_no": "N-l", "status": "signed", "overdue_open": True})
    again = await inspections.compile(files, day=day, now=clock.now(), stuck_after=timedelta(minutes=15))
    assert again["counts"]["overdue"] == many + 1

    dispatcher = Principal(subject="d", role=Role.DISPATCHER, scope=Scope.COUNTY)
    first = await inspection(user=dispatcher, sv=sv, day=None, limit=500)
    assert first["counts"]["overdue"] == many  # the confidential report is not counted for it

    assert [i["case_id"] for i in first["irregular"]] == ["twice"]
    assert first["irregular"][0]["why"] == "reopened 2 times"
    seen, cursor = [i["case_id"] for i in first["overdue"]], first["next_cursors"]["overdue"]
    while cursor:
        page = await inspection_list(
            list_name="overdue", user=dispatcher, sv=sv, day=day, limit=500, cursor=cursor
        )
        seen += [i["case_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == many and "secret" not in seen


async def test_the_compiled_inspection_is_announced_once_with_its_counts_only(db, files, clock):
    from dispatch_common import subjects
    from services.supervision.inspection import Inspections, county_day

    await files.files.insert_one(
        {"_id": "o1", "case_no": "N-o1", "status": "in_progress", "overdue_open": True}
    )
    inspections = Inspections.of(db)
    await inspections.ensure_indexes()
    day = county_day(clock.now(), KEEPER.timezone)
    report = await inspections.compile(files, day=day, now=clock.now(), stuck_after=timedelta(minutes=15))
    assert await inspections.announce(report, clock) is True
    # another replica, a retry after a crash, a restart: told once
    assert await inspections.announce(report, clock) is False
    told = await inspections.announcements.find({}).to_list()
    assert len(told) == 1 and len(told[0]["outbox"]) == 1  # the event waits in the outbox, checked by proto/
    event = told[0]["outbox"][0]["event"]
    assert event["type"] == subjects.INSPECTION_COMPILED and "subject" not in event
    assert event["data"]["day"] == day.isoformat()
    assert event["data"]["counts"] == {"overdue": 1, "irregular": 0, "stuck": 0, "ledger": 0}
    # a top-level boolean set by $set reads back as 1 on the embedded server (docs/architecture.md)
    assert bool((await inspections.reports.find_one({"_id": day.isoformat()}))["announced"])
