"""What a petitioner sees of their case (services/supervision/domain/progress.py): their own notices
and answers, the unit's name, the limit and which of their actions are open; nothing internal."""

from datetime import UTC, datetime, timedelta

from dispatch_common import subjects
from services.supervision.domain.progress import may, view

NOW = datetime(2026, 5, 1, 9, tzinfo=UTC)


def _file(**changes):
    doc = {
        "_id": "c1",
        "case_no": "990102-2026-000001",
        "status": "replied",
        "received_at": NOW - timedelta(days=20),
        "lead_unit": {"code": "U1", "name": "示范县住房和城乡建设局", "handler": "张三"},
        "assisting_units": [{"code": "U2", "name": "另一单位"}],
        "deadlines": [
            {"kind": "handling", "label": "办理", "due_at": NOW + timedelta(days=40), "met_at": NOW},
            {"kind": "review_request", "label": "申请复查", "due_at": NOW + timedelta(days=30)},
        ],
        "reply": {"result": "resolved", "text": "问题已解决。", "at": NOW, "by": {"subject": "handler-1"}},
        "actions": [{"action": "progress", "note": "内部：先联系物业", "by": {"subject": "handler-1"}}],
    }
    return doc | changes


def _entry(event_type, at, **summary):
    return {"_id": f"e{at.timestamp()}", "type": event_type, "time": at, "summary": summary}


TIMELINE = [
    _entry(
        subjects.NOTIFICATION_SENT,
        NOW - timedelta(days=19),
        kind="acceptance",
        channel="sms",
        audience="petitioner",
    ),
    _entry(
        subjects.NOTIFICATION_SENT,
        NOW - timedelta(days=19),
        kind="assignment",
        channel="inbox",
        audience="lead_unit",
    ),
    _entry(
        subjects.NOTIFICATION_SENT, NOW - timedelta(days=18), kind="warning", channel="inbox"
    ),  # no audience: not shown
    _entry(subjects.CASE_PROGRESSED, NOW - timedelta(days=10), note="内部：先联系物业", public=False),
    _entry(subjects.NOTIFICATION_SENT, NOW, kind="reply", channel="sms", audience="petitioner"),
]


def test_the_petitioner_sees_their_notices_the_answer_the_unit_and_the_limit_only():
    seen = view(_file(), TIMELINE, NOW)
    assert seen["status_text"] == "已答复" and seen["unit_name"] == "示范县住房和城乡建设局"
    assert [n["title"] for n in seen["notices"]] == ["受理告知书", "答复意见书"]
    assert seen["answers"] == [
        {"kind": "reply", "title": "答复意见书", "result": "已解决", "text": "问题已解决。", "at": NOW}
    ]
    assert seen["time_limit"]["due_at"] == NOW + timedelta(days=40)
    shown = repr(seen)
    for private in ("内部", "张三", "handler-1", "另一单位", "U1"):
        assert private not in shown


def test_an_answered_case_may_be_rated_and_reviewed_until_the_limit():
    seen = view(_file(), TIMELINE, NOW)
    assert seen["can_rate"] and seen["can_request_review"] and seen["review_stage"] == "review"
    assert seen["review_until"] == NOW + timedelta(days=30)
    late = NOW + timedelta(days=31)
    assert may(_file(), "review", late) == (False, NOW + timedelta(days=30))


def test_a_case_in_handling_offers_no_action_and_a_re_review_follows_a_review_answer():
    handling = view(_file(status="in_progress", reply=None), [], NOW)
    assert not handling["can_rate"] and not handling["can_request_review"] and handling["answers"] == []
    answered = _file(
        status="review_answered",
        deadlines=[{"kind": "re_review_request", "label": "申请复核", "due_at": NOW + timedelta(days=5)}],
    )
    seen = view(
        answered, [_entry(subjects.CASE_REVIEW_ANSWERED, NOW, note="维持原答复。", stage="复查")], NOW
    )
    assert seen["review_stage"] == "re_review" and seen["review_until"] == NOW + timedelta(days=5)
    assert seen["answers"][-1]["title"] == "复查意见" and seen["answers"][-1]["text"] == "维持原答复。"
