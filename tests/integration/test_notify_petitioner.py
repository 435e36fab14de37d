"""What the petitioner hears after the unit starts work, through the real servers: only public progress
notes, an extension with the unit's reason and the new date, the review answer and the closure."""

import uuid
from collections.abc import AsyncIterator

import pytest

from bench.notify_fakes import handled, screened
from dispatch_common import subjects
from tests.notify_support import Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration
PHONE = "13812345678"


@pytest.fixture
async def h(servers) -> AsyncIterator[Harness]:
    harness = await start_notify(**servers)
    yield harness
    await stop_notify(harness)


async def test_the_petitioner_hears_public_progress_the_extension_reason_and_date_the_review_and_closure(
    h: Harness,
):
    case_id, case_no = str(uuid.uuid4()), f"990102-2026-{uuid.uuid4().int % 10**6:06d}"
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    await h.settled(case_id, 1)
    steps = [
        handled(subjects.CASE_PROGRESSED, case_id, case_no, "progress", note="当事人情绪激动，内部掌握"),
        handled(subjects.CASE_PROGRESSED, case_id, case_no, "progress", note="已到现场核实", public=True),
        handled(subjects.CASE_PROGRESSED, case_id, case_no, "extension", days=20, note="需两部门联合踏勘"),
    ]
    for event in steps:
        await h.publish(event)
    await h.settled(case_id, 2)  # the acceptance and the public progress note; the request tells nothing
    await h.publish(  # a later batch: the reason comes from notify's stored view of the case
        handled(
            subjects.CASE_EXTENDED,
            case_id,
            case_no,
            "extension_decision",
            approved=True,
            days=20,
            note="同意",
            handling_due_at="2026-06-19T09:00:00+00:00",
        )
    )
    await h.settled(case_id, 3)
    await h.publish(
        handled(
            subjects.CASE_REVIEW_ANSWERED, case_id, case_no, "review_answer", stage="复查", note="维持原答复"
        )
    )
    await h.publish(handled(subjects.CASE_CLOSED, case_id, case_no, "close"))
    docs = await h.settled(case_id, 5)
    texts = {d["kind"]: d["body"] for d in docs}
    assert sorted(texts) == ["acceptance", "closure", "extension", "progress", "review_answer"]
    assert "已到现场核实" in texts["progress"]
    assert "内部掌握" not in str([d["body"] for d in docs])
    assert "需两部门联合踏勘" in texts["extension"] and "2026年06月19日" in texts["extension"]
    assert "同意" not in texts["extension"]
    assert "维持原答复" in texts["review_answer"] and "复核" in texts["review_answer"]
    assert case_no in texts["closure"]
    assert {request.body["to"] for request in h.gateway.requests} == {PHONE}
