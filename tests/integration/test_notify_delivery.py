"""Notify's channels on loopback servers: the signed SMS gateway, SMTP and webhooks, with failures.

A real nats-server and the embedded MongoDB server carry the events; a local HTTP server stands in
for the gateway and webhook receivers (told to fail, refuse, answer slowly or hang), aiosmtpd for
the mail server. Every outcome is read from what notify stored, emitted and what the servers got.
"""

import itertools
import uuid
from collections.abc import AsyncIterator

import pytest

from bench.notify_fakes import alarm, assigned, handled, screened
from dispatch_common import subjects
from services.notify.adapters.channels import IDEMPOTENCY_HEADER
from tests.helpers import events_on, eventually
from tests.notify_support import (
    ASSIST,
    LEAD,
    LEADER_EMAIL,
    UNIT_EMAIL,
    UNIT_PHONE,
    Harness,
    start_notify,
    stop_notify,
)

pytestmark = pytest.mark.integration
PHONE = "13812345678"


@pytest.fixture
async def h(servers) -> AsyncIterator[Harness]:
    harness = await start_notify(
        **servers,
    )
    yield harness
    await stop_notify(harness)


def new_case() -> tuple[str, str]:
    n = uuid.uuid4().int % 10**6
    return str(uuid.uuid4()), f"990102-2026-{n:06d}"


async def test_the_acceptance_sms_goes_once_through_the_signed_gateway_with_the_number_in_clear_only_there(
    h: Harness,
):
    case_id, case_no = new_case()
    event = screened(case_id, case_no, **h.contact(PHONE, case_id))
    await h.publish(event)
    [doc] = await h.settled(case_id, 1)
    assert (doc["kind"], doc["channel"], doc["status"], doc["attempts"]) == ("acceptance", "sms", "sent", 1)
    assert doc["recipient"] == "138****5678" and doc["sent_at"] is not None
    [request] = h.gateway.requests
    assert request.signed and request.key == doc["_id"]
    assert request.body["to"] == PHONE and case_no in request.body["text"] and request.body["segments"] == 1
    # the number in clear is nowhere in notify's own records
    assert PHONE not in str(await h.messages(case_id))
    sent = await eventually(lambda: _events(h, subjects.NOTIFICATION_SENT, case_id), what="notification.sent")
    assert [e["data"]["notification_id"] for e in sent] == [doc["_id"]]
    assert sent[0]["data"]["recipient"] == "138****5678"

    # the same event again (another Nats-Msg-Id, as a republish after the window would be) adds nothing
    await h.nc.jetstream().publish(
        event.type, event.to_bytes(), headers={"Nats-Msg-Id": f"again-{event.id}"}, stream="DISPATCH"
    )
    again = screened(case_id, case_no, **h.contact(PHONE, case_id))  # a second screening is a new cause
    assert again.id != event.id
    await h.settled(case_id, 1)
    assert len(h.gateway.requests) == 1 and len(h.gateway.delivered) == 1


async def _events(h: Harness, subject: str, case_id: str) -> list[dict]:
    return [e for e in await events_on(h.nc, subject) if e["data"]["case_id"] == case_id]


async def test_failures_are_retried_with_growing_waits_until_the_gateway_takes_the_message(h: Harness):
    h.gateway.script = ["fail", "busy", "fail"]
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    [doc] = await h.settled(case_id, 1)
    assert (doc["status"], doc["attempts"]) == ("sent", 4)
    assert [r.behaviour for r in h.gateway.requests] == ["fail", "busy", "fail", "ok"]
    assert {r.key for r in h.gateway.requests} == {doc["_id"]}  # one idempotency key for every try
    times = [r.at for r in h.gateway.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # equal jitter: each wait is at least half the doubled delay, so waits never shrink (bounds, not timing)
    assert gaps[1] >= 0.05 and gaps[2] >= 0.1
    async with h.api("dispatcher") as client:
        one = (await client.get(f"/v1/notifications/{doc['_id']}")).json()
    assert [a["outcome"] for a in one["attempt_log"]] == ["retry", "retry", "retry", "delivered"]
    assert one["attempt_log"][0]["reason"].startswith("HTTP 503")


async def test_after_the_last_try_a_message_is_dead_lettered_with_its_reason_and_reported(h: Harness):
    h.gateway.default = "fail"
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    [doc] = await h.settled(case_id, 1)
    assert (doc["status"], doc["attempts"]) == ("dead", 4)
    assert doc["dead_reason"].startswith("gave up after 4 tries; last: HTTP 503")
    assert len(h.gateway.requests) == 4 and not h.gateway.delivered
    failed = await eventually(
        lambda: _events(h, subjects.NOTIFICATION_FAILED, case_id), what="notification.failed"
    )
    assert failed[0]["data"]["attempts"] == 4 and "HTTP 503" in failed[0]["data"]["reason"]
    async with h.api("supervisor") as client:
        dead = (await client.get("/v1/notifications", params={"status": "dead"})).json()["items"]
        assert doc["_id"] in [d["id"] for d in dead]
        h.gateway.default = "ok"  # the operator fixed the gateway and sends it again
        r = await client.post(f"/v1/notifications/{doc['_id']}/retry")
        assert r.status_code == 200 and r.json()["status"] == "queued"
    [doc] = await h.settled(case_id, 1)
    assert doc["status"] == "sent" and len(h.gateway.delivered) == 1


async def test_a_message_the_gateway_refuses_is_dead_at_once(h: Harness):
    h.gateway.script = ["reject"]
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    [doc] = await h.settled(case_id, 1)
    assert (doc["status"], doc["attempts"]) == ("dead", 1)
    assert doc["dead_reason"].startswith("refused: HTTP 400")


async def test_a_hanging_gateway_times_out_and_the_retry_delivers(h: Harness):
    h.gateway.script = ["hang"]
    h.gateway.hang_seconds = 3.0
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    [doc] = await h.settled(case_id, 1)
    assert (doc["status"], doc["attempts"]) == ("sent", 2)
    assert len(h.gateway.delivered) == 1


async def _delivered(h: Harness) -> int:
    return len(h.gateway.delivered)


async def test_a_gateway_slower_than_the_timeout_still_delivers_once_the_retry_is_recognised(h: Harness):
    # The gateway takes the message after the client gave up; the retry carries the same key: 409.
    h.gateway.script = ["slow"]
    h.gateway.slow_seconds = 1.0
    case_id, case_no = new_case()
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    [doc] = await h.settled(case_id, 1, within=30)
    assert doc["status"] == "sent" and doc["attempts"] >= 2 and h.gateway.duplicates >= 1
    await eventually(lambda: _delivered(h), what="the slow request to finish at the gateway")
    assert len(h.gateway.delivered) == 1


async def test_units_hear_of_a_new_assignment_in_the_inbox_and_by_email_and_the_petitioner_by_sms(h: Harness):
    case_id, case_no = new_case()
    h.smtp.fail_next = 1  # the mail server is briefly unavailable: the e-mail is retried
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    await h.publish(assigned(case_id, case_no, LEAD, [ASSIST]))
    docs = await h.settled(case_id, 5)
    got = sorted((d["kind"], d["recipient_key"], d["channel"], d["status"]) for d in docs)
    assert got == [
        ("acceptance", "petitioner", "sms", "sent"),
        ("assignment", "petitioner", "sms", "sent"),
        ("assignment", "unit:U-ASSIST", "inbox", "sent"),
        ("assignment", "unit:U-LEAD", "email", "sent"),
        ("assignment", "unit:U-LEAD", "inbox", "sent"),
    ]
    email_doc = next(d for d in docs if d["channel"] == "email")
    assert email_doc["attempts"] == 2 and UNIT_EMAIL not in email_doc["recipient"]
    [mail] = h.smtp.messages
    assert mail["To"] == UNIT_EMAIL and mail["Message-ID"] == f"<{email_doc['_id']}@county.example.invalid>"
    assert case_no in mail.get_body(("plain",)).get_content() and mail["Subject"] == "交办告知"
    petitioner_sms = next(r for r in h.gateway.requests if "交" in r.body["text"])
    assert LEAD["name"] in petitioner_sms.body["text"]


async def test_an_escalation_letter_goes_to_the_unit_its_leader_and_supervisors_urgently_with_the_letter(
    h: Harness,
):
    case_id, case_no = new_case()
    await h.publish(assigned(case_id, case_no, LEAD))  # the petitioner is unknown here: only units hear
    event = alarm(subjects.CASE_ESCALATED, case_id, case_no, LEAD, level="supervision_letter", label="督办函")
    await h.publish(event)

    async def escalations():
        docs = [d for d in await h.messages(case_id) if d["kind"] == "escalation"]
        return docs if len(docs) == 6 and all(d["status"] == "sent" for d in docs) else None

    docs = await eventually(escalations, what="the escalation messages")
    got = sorted((d["recipient_key"], d["channel"]) for d in docs)
    assert got == [
        ("role:supervisor", "inbox"),
        ("unit:U-LEAD", "email"),
        ("unit:U-LEAD", "inbox"),
        ("unit:U-LEAD", "sms"),
        ("unit_leader:U-LEAD", "email"),
        ("unit_leader:U-LEAD", "inbox"),
    ]
    assert all(d["urgent"] and d["subject"] == "督办函" and "督办函" in d["document_html"] for d in docs)
    sms = next(r for r in h.gateway.requests if r.body["to"] == UNIT_PHONE)
    assert "督办函" in sms.body["text"]
    mails = {m["To"]: m for m in h.smtp.messages if m["Subject"] == "督办函"}  # besides the assignment's
    assert set(mails) == {UNIT_EMAIL, LEADER_EMAIL}
    assert "督办函" in mails[UNIT_EMAIL].get_body(("html",)).get_content()
    async with h.api("unit_handler", unit=LEAD["code"]) as client:
        unit_inbox = next(d for d in docs if d["recipient_key"] == "unit:U-LEAD" and d["channel"] == "inbox")
        r = await client.get(f"/v1/notifications/{unit_inbox['_id']}/document")
        assert r.status_code == 200 and "督办函" in r.text and case_no in r.text


async def test_a_notice_that_needs_the_petitioner_waits_for_the_screening_event(h: Harness):
    case_id, case_no = new_case()
    await h.publish(
        handled(subjects.CASE_REPLIED, case_id, case_no, "reply", result="resolved", note="已修复")
    )
    await h.publish(screened(case_id, case_no, **h.contact(PHONE, case_id)))
    docs = await h.settled(case_id, 4)
    got = sorted((d["kind"], d["channel"]) for d in docs)
    assert got == [("acceptance", "sms"), ("followup", "sms"), ("reply", "sms"), ("reply", "webhook")]
    hook = next(iter(h.hooks.delivered.values()))
    assert hook["kind"] == "reply" and hook["case_no"] == case_no and "已修复" in hook["text"]
    assert all(r.signed for r in h.hooks.requests) and h.hooks.requests[0].key in {d["_id"] for d in docs}
    assert IDEMPOTENCY_HEADER  # the key travels in this header


async def test_an_anonymous_petitioner_is_told_in_the_inbox_with_the_reason(h: Harness):
    case_id, case_no = new_case()
    await h.publish(
        screened(case_id, case_no, anonymous=True, outcome="not_accepted", reason="已经依法处理终结")
    )
    [doc] = await h.settled(case_id, 1)
    assert (doc["kind"], doc["channel"], doc["status"]) == ("refusal", "inbox", "sent")
    assert doc["channel_reason"] == "anonymous petitioner" and doc["inbox_owner"] == f"petitioner:{case_id}"
    assert "已经依法处理终结" in doc["body"] and "不予受理告知书" in doc["document_html"]
    assert not h.gateway.requests
