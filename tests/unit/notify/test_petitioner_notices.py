"""What the petitioner is told after the reply (一信三反馈): review answers, closure, extensions, and
only the progress notes meant for them (pure, no servers)."""

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench.notify_fakes import handled
from dispatch_common import subjects
from dispatch_common.envelope import Envelope
from dispatch_common.paths import DATA_DIR
from services.notify.domain.plan import notices, occasion
from services.notify.domain.recipients import Directory
from services.notify.domain.templates import Templates
from services.notify.entrypoints.subscribers import SUBSCRIPTIONS
from services.notify.handlers import case_facts

CHINA = ZoneInfo("Asia/Shanghai")
TEMPLATES = Templates(DATA_DIR / "notify" / "templates.json")
NO = "990102-2026-000001"
CASE: dict[str, Any] = {
    "case_no": NO,
    "petitioner": {"anonymous": False, "phone_masked": "138****5678", "contact_token": "tok"},
    "lead_unit": {"code": "990102-XFJ", "name": "信访局"},
}


@pytest.fixture
def directory() -> Directory:
    return Directory(DATA_DIR / "notify" / "recipients.json")


def told(event: Envelope, case: dict[str, Any], directory: Directory) -> dict[tuple[str, str], str]:
    """The petitioner's notices an event owes, by (kind, channel), as their texts."""
    view = SUBSCRIPTIONS[event.type].model_validate(event.data)
    case = {**case, **case_facts(view)}  # what the handler does before planning
    occ = occasion(event.type, view, case, tz=CHINA, at=event.time)
    occ.values["county_name"] = "示范县"
    owed, _ = notices(occ, case, directory)
    return {
        (n.kind, n.target.channel): TEMPLATES.compose(
            n.kind, n.target.recipient.audience, n.target.channel, occ.values
        ).text
        for n in owed
        if n.target.recipient.key == "petitioner"
    }


def test_the_answer_of_a_review_and_of_a_re_review_is_told_with_what_the_petitioner_may_do_next(directory):
    answer = "经复查，维持原答复意见。"
    review = told(
        handled(subjects.CASE_REVIEW_ANSWERED, "c1", NO, "review_answer", stage="复查", note=answer),
        CASE,
        directory,
    )
    assert list(review) == [("review_answer", "sms")]
    text = review["review_answer", "sms"]
    assert "复查" in text and "维持原答复意见" in text and "请求复核" in text
    final = told(
        handled(subjects.CASE_REVIEW_ANSWERED, "c1", NO, "re_review_answer", stage="复核", note="维持。"),
        {**CASE, "petitioner": {"anonymous": True}},
        directory,
    )
    assert list(final) == [("review_answer", "inbox")]
    assert (
        "复核意见为最终意见" in final["review_answer", "inbox"]
        and "请求复核" not in final["review_answer", "inbox"]
    )


def test_closure_is_told_to_the_petitioner(directory):
    closed = told(handled(subjects.CASE_CLOSED, "c1", NO, "close"), CASE, directory)
    assert list(closed) == [("closure", "sms")]
    assert NO in closed["closure", "sms"] and "办结" in closed["closure", "sms"]


def test_an_approved_extension_gives_the_units_reason_and_the_new_due_date_not_the_decision_note(directory):
    request = handled(
        subjects.CASE_PROGRESSED, "c1", NO, "extension", days=30, note="需协调住建、自然资源两部门联合踏勘"
    )
    assert told(request, CASE, directory) == {}  # asking is not news for the petitioner
    case = {**CASE, **case_facts(SUBSCRIPTIONS[request.type].model_validate(request.data))}
    approved = handled(
        subjects.CASE_EXTENDED,
        "c1",
        NO,
        "extension_decision",
        approved=True,
        days=30,
        note="同意",
        handling_due_at="2026-05-30T16:30:00+00:00",  # 2026-05-31 00:30 in the county
    )
    for text in told(approved, case, directory).values():
        assert "同意" not in text
        assert "需协调住建" in text and "延期30日" in text and "2026年05月31日" in text


def test_only_a_public_progress_note_goes_to_the_petitioner(directory):
    internal = handled(subjects.CASE_PROGRESSED, "c1", NO, "progress", note="当事人情绪偏激，注意接待方式")
    assert told(internal, CASE, directory) == {}
    marked_internal = handled(subjects.CASE_PROGRESSED, "c1", NO, "progress", note="内部", public=False)
    assert told(marked_internal, CASE, directory) == {}
    public = handled(subjects.CASE_PROGRESSED, "c1", NO, "progress", note="已到现场核实", public=True)
    assert "已到现场核实" in told(public, CASE, directory)["progress", "sms"]
