"""The deadline policy table: limits from moments, working days, 12345 response tiers, alarms."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch_common.paths import DATA_DIR
from dispatch_common.workdays import WorkingCalendar
from services.supervision.domain.policy import DeadlinePolicy, Timekeeper

CHINA = ZoneInfo("Asia/Shanghai")
POLICY = DeadlinePolicy.load(DATA_DIR / "policy" / "deadlines.json")
KEEPER = Timekeeper(POLICY, WorkingCalendar.load(), CHINA)
RECEIVED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in the county


def due(state: dict) -> dict[str, datetime]:
    return {d["kind"]: d["due_at"] for d in KEEPER.refresh(state)["deadlines"]}


def test_only_deadlines_whose_moment_is_known_are_counted():
    assert due({"received_at": RECEIVED}) == {"acceptance_notice": RECEIVED + timedelta(days=15)}
    assigned = RECEIVED + timedelta(days=2)
    both = due({"received_at": RECEIVED, "assigned_at": assigned, "channel": "petition_letter"})
    assert both["handling"] == assigned + timedelta(days=60)
    assert set(both) == {"acceptance_notice", "sign", "objection", "handling"}


def test_working_day_limits_skip_weekends_and_holidays():
    friday = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday 10:00
    limits = due({"assigned_at": friday, "channel": "petition_visit"})
    assert limits["sign"] == datetime(2026, 3, 10, 0, 0, tzinfo=CHINA)  # end of Monday
    assert limits["objection"] == datetime(2026, 3, 14, 0, 0, tzinfo=CHINA)  # end of next Friday
    before_national_day = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    assert due({"assigned_at": before_national_day})["sign"] == datetime(2026, 10, 9, 0, 0, tzinfo=CHINA)


@pytest.mark.parametrize(
    ("facts", "limit", "tier"),
    [
        ({"flags": ["police"]}, timedelta(hours=2), "risk"),
        ({"tier": "major"}, timedelta(hours=2), "risk"),
        ({"category": {"code": "03", "subcode": "0302"}}, timedelta(hours=24), "utilities"),
        ({"tier": "key"}, timedelta(days=15), "complex"),
        ({}, timedelta(days=7), "general"),
    ],
)
def test_hotline_cases_are_handled_within_their_response_tier(facts, limit, tier):
    state = {"assigned_at": RECEIVED, "channel": "hotline_12345", **facts}
    handling = next(d for d in KEEPER.refresh(state)["deadlines"] if d["kind"] == "handling")
    assert handling["due_at"] == RECEIVED + limit and handling["response_tier"] == tier
    petition = {"assigned_at": RECEIVED, "channel": "petition_online", **facts}
    assert due(petition)["handling"] == RECEIVED + timedelta(days=60)


def test_an_approved_extension_moves_the_handling_limit():
    state = {"assigned_at": RECEIVED, "channel": "petition_letter", "extensions": {"handling": 30}}
    assert due(state)["handling"] == RECEIVED + timedelta(days=90)


def test_a_met_deadline_raises_no_alarm_and_an_unmet_one_warns_then_is_overdue_then_escalates():
    state = {"assigned_at": RECEIVED, "channel": "petition_letter"}
    deadlines = KEEPER.refresh(state)["deadlines"]
    handling = next(d for d in deadlines if d["kind"] == "handling")
    alarms = POLICY.alarms(handling)
    due_at = RECEIVED + timedelta(days=60)
    assert [(a.action, a.level) for a in alarms] == [
        ("warning", None),
        ("overdue", None),
        ("escalation", "reminder"),
        ("escalation", "supervision_letter"),
        ("escalation", "circular"),
        ("escalation", "interview"),
    ]
    assert alarms[0].at == due_at - timedelta(days=3)  # 3 days is less than 20% of 60 days
    assert alarms[1].at == due_at and alarms[3].at == due_at + timedelta(hours=72)
    sign = next(d for d in deadlines if d["kind"] == "sign")
    assert [a.action for a in POLICY.alarms(sign)] == ["warning", "overdue"]  # no ladder for signing
    objection = next(d for d in deadlines if d["kind"] == "objection")
    assert POLICY.alarms(objection) == []  # shown with its time left, never alarmed
    signed = KEEPER.refresh(state | {"signed_at": RECEIVED + timedelta(hours=1)})["deadlines"]
    assert POLICY.alarms(next(d for d in signed if d["kind"] == "sign")) == []


def test_a_short_limit_warns_at_a_fifth_of_its_length():
    state = {"assigned_at": RECEIVED, "channel": "hotline_12345", "flags": ["police"]}
    handling = next(d for d in KEEPER.refresh(state)["deadlines"] if d["kind"] == "handling")
    warning = POLICY.alarms(handling)[0]
    assert handling["due_at"] - warning.at == timedelta(minutes=24)


def test_a_late_scan_acts_on_every_due_alarm_once_and_says_when_to_look_next():
    state = {"assigned_at": RECEIVED, "channel": "petition_letter", "signed_at": RECEIVED}
    deadlines = KEEPER.refresh(state)["deadlines"]
    late = RECEIVED + timedelta(days=64)  # 4 days after the handling limit: the reminder and the letter
    due_now = POLICY.due_alarms(deadlines, set(), late)
    assert [(a.kind, a.action, a.level) for a in due_now] == [
        ("handling", "warning", None),
        ("handling", "overdue", None),
        ("handling", "escalation", "reminder"),
        ("handling", "escalation", "supervision_letter"),
    ]
    fired = {a.key for a in due_now}
    assert POLICY.due_alarms(deadlines, fired, late) == []
    assert POLICY.next_alarm(deadlines, fired) == RECEIVED + timedelta(days=60, hours=168)
    again = KEEPER.refresh(state | {"alarms_fired": sorted(fired)})
    assert again["next_alarm_ts"] == round((RECEIVED + timedelta(days=67)).timestamp() * 1000)


def test_a_policy_with_a_broken_table_is_refused(tmp_path):
    bad = tmp_path / "p.json"
    rule = {"kind": "a", "label": "a", "from": "received", "met_by": "signed", "basis": "b"}
    bad.write_text(json.dumps({"version": "x", "deadlines": [rule]}))
    with pytest.raises(ValueError, match="either days or hours"):
        DeadlinePolicy.load(bad)
