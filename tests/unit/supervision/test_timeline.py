"""What the timeline keeps of an event: who acted and why for the steps of a case, never more."""

from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.envelope import make_event
from services.supervision.handlers import timeline_entry
from tests.helpers import MONDAY

BY = {"subject": "h", "role": "unit_handler", "unit": "T1-GOV"}


def entry(event_type: str, **data) -> dict:
    event = make_event(type=event_type, source="/test", subject="c1", data=data, clock=FixedClock(MONDAY))
    return timeline_entry(event)["summary"]


def test_a_persons_step_keeps_who_acted_what_they_did_and_why():
    summary = entry(
        subjects.CASE_PROGRESSED,
        case_no="N-1",
        status="in_progress",
        action="assistance",
        by=BY,
        at=MONDAY.isoformat(),
        note="请派出所协助核实",
        units=["T1-PCS"],
    )
    assert summary["action"] == "assistance" and summary["by"] == BY
    assert summary["note"] == "请派出所协助核实" and summary["units"] == ["T1-PCS"]
    extended = entry(
        subjects.CASE_EXTENDED, action="extension_decision", by=BY, note="同意", approved=True, days=10
    )
    assert (extended["approved"], extended["days"], extended["note"]) == (True, 10, "同意")


def test_notes_of_mediations_and_referrals_stay_in_their_services():
    summary = entry(subjects.REFERRAL_CRISIS, case_id="c1", by=BY, note="当事人情绪激动")
    assert summary == {"by": BY}
