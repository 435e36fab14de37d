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
    # the acceptance and the public progress note; the request is told to the supervisors, not the petitioner
    asked = await h.settled(case_id, 3)
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
    request = next(d for d in asked if d["kind"] == "extension_request")
    assert request["recipient_key"] == "role:supervisor" and "需两部门联合踏勘" in request["body"]
    await h.settled(case_id, 4)
    await h.publish(
        handled(
            subjects.CASE_REVIEW_ANSWERED, case_id, case_no, "review_answer", stage="复查", note="维持原答复"
        )
    )
    await h.publish(handled(subjects.CASE_CLOSED, case_id, case_no, "close"))
    docs = await h.settled(case_id, 6)
    texts = {d["kind"]: d["body"] for d in docs if d["recipient_key"] != "role:supervisor"}
    assert sorted(texts) == ["acceptance", "closure", "extension", "progress", "review_answer"]
    assert "已到现场核实" in texts["progress"]
    assert "内部掌握" not in str([d["body"] for d in docs])
    assert "需两部门联合踏勘" in texts["extension"] and "2026年06月19日" in texts["extension"]
    assert "同意" not in texts["extension"]
    assert "维持原答复" in texts["review_answer"] and "复核" in texts["review_answer"]
    assert case_no in texts["closure"]
    assert {request.body["to"] for request in h.gateway.requests} == {PHONE}


async def test_the_reply_sms_promises_only_what_happens_the_window_finds_the_letter_by_number(h: Harness):
    case_id, case_no = str(uuid.uuid4()), f"990102-2026-{uuid.uuid4().int % 10**6:06d}"
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    await h.publish(
        handled(subjects.CASE_REPLIED, case_id, case_no, "reply", result="resolved", note="路灯已修复")
    )
    docs = await h.settled(case_id, 4)  # acceptance, reply, follow-up invitation; the hotline webhook
    reply = next(d for d in docs if d["kind"] == "reply")
    assert reply["channel"] == "sms" and "将送达" not in reply["body"] and "接待窗口领取" in reply["body"]
    async with h.api("reception_clerk") as clerk:  # the petitioner comes with the number of the SMS
        listed = (await clerk.get("/v1/notifications", params={"case_no": case_no})).json()["items"]
        # the petitioner's reply (the hotline's webhook of the same moment has no letter)
        letter = next(i for i in listed if i["kind"] == "reply" and i["audience"] == "petitioner")
        assert letter["has_document"] and {i["case_id"] for i in listed} == {case_id}
        page = await clerk.get(f"/v1/notifications/{letter['id']}/document")
        assert page.status_code == 200 and "路灯已修复" in page.text and case_no in page.text
        none = await clerk.get("/v1/notifications", params={"case_no": "990102-2026-999999x"})
        assert none.json()["items"] == []
