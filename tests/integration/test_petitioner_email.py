"""A petitioner who chooses e-mail is told by e-mail: intake validates and seals the address, notify
opens it only to send, and the clear address is nowhere but in the e-mail itself and the audited
unmask. Intake and notify in process on the real nats-server and the embedded MongoDB server, with a
loopback SMTP server (bench/notify_fakes.py)."""

import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bench.notify_fakes import handled
from devtools.stack import free_port
from dispatch_common import subjects
from dispatch_common.crypto import KeyRing, PiiKeys, email_aad, encrypt
from services.notify.adapters.channels import Mailer, Outgoing
from services.notify.domain.lookup import MARK_CODE
from tests.helpers import eventually
from tests.intake_support import IntakeHarness, start_intake
from tests.notify_support import Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration

EMAIL = "zhang.san@mail.county.example"
MASKED = "z***@mail.county.example"
CASE = {"channel": "hotline_12345", "text": "小区门口的路灯坏了一个月，晚上出行很不方便，请尽快修复。"}


def holds_the_address(value: Any) -> bool:
    """Whether a value (documents, events) holds the clear address anywhere, in any case."""
    return EMAIL.lower() in json.dumps(value, ensure_ascii=False, default=str).lower()


@pytest.fixture
async def intake(nats_url, mongodb_url, db_prefix, run_dir) -> AsyncIterator[IntakeHarness]:
    h = await start_intake(nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir)
    yield h
    await h.intake.runtime.stop()


@pytest.fixture
async def notify(servers, intake) -> AsyncIterator[Harness]:
    h = await start_notify(**servers)
    yield h
    await stop_notify(h)


async def register(intake: IntakeHarness, petitioner: dict[str, Any]) -> Any:
    async with intake.client("reception_clerk") as clerk:
        return await clerk.post("/v1/cases", json=CASE | {"petitioner": petitioner})


async def mails_to(notify: Harness, count: int) -> list[Any]:
    async def probe() -> list[Any] | None:
        found = [m for m in notify.smtp.messages if m["To"] == EMAIL]
        return found if len(found) >= count else None

    return await eventually(probe, within=30, what=f"{count} e-mails to the petitioner")


async def test_a_petitioner_who_chose_e_mail_gets_the_acceptance_and_the_reply_there(
    intake: IntakeHarness, notify: Harness, published: list[dict[str, Any]]
):
    answer = await register(intake, {"name": "张三", "email": EMAIL, "notify_channel": "email"})
    assert answer.status_code == 201, answer.text
    case_id, case_no = answer.json()["case_id"], answer.json()["case_no"]

    [acceptance] = await mails_to(notify, 1)
    body = acceptance.get_body(("plain",)).get_content()
    assert case_no in body and MARK_CODE not in body  # the lookup code's mark filled in at sending
    await notify.publish(
        handled(subjects.CASE_REPLIED, case_id, case_no, "reply", result="resolved", note="路灯已于昨日修复")
    )
    # the reply (beside it the invitation to rate the handling, in either order)
    texts = [m.get_body(("plain",)).get_content() for m in await mails_to(notify, 3)]
    assert any("路灯已于昨日修复" in text for text in texts[1:]), texts

    stored = await notify.messages(case_id)
    to_petitioner = [d for d in stored if d["recipient_key"] == "petitioner"]
    assert {d["kind"] for d in to_petitioner} >= {"acceptance", "reply"}
    assert {(d["channel"], d["recipient"], d["channel_reason"]) for d in to_petitioner} == {
        ("email", MASKED, None)
    }
    assert all(d["email_token"].startswith("v2.") and d["contact_token"] is None for d in to_petitioner)
    assert notify.gateway.requests == []  # no SMS: there is no phone, and e-mail was chosen
    # the clear address is in none of notify's collections, and in none of the events
    db = notify.notify.runtime.db
    for name in await db.list_collection_names():
        assert not holds_the_address(await db[name].find({}).to_list()), name
    assert not holds_the_address(await intake.stored(case_id))  # sealed, hashed and masked there
    screened = [e for e in published if e["type"] == subjects.CASE_SCREENED and e["subject"] == case_id]
    assert screened and screened[0]["data"]["petitioner"]["email_masked"] == MASKED
    assert screened[0]["data"]["petitioner"]["email_token"].startswith("v2.")
    assert not holds_the_address(published)

    async with intake.client("dispatcher") as dispatcher:
        masked = (await dispatcher.get(f"/v1/cases/{case_id}")).json()["petitioner"]
        clear = (
            await dispatcher.get(f"/v1/cases/{case_id}", params={"unmask": "true", "reason": "回访"})
        ).json()
    async with intake.client("auditor") as auditor:
        audit = (await auditor.get(f"/v1/cases/{case_id}/audit")).json()["items"]
    assert masked["email"] == MASKED and clear["petitioner"]["email"] == EMAIL
    assert [a["fields"] for a in audit] == [["email", "name"]]


async def test_a_bad_address_or_e_mail_without_one_is_a_422_on_the_field(intake: IntakeHarness):
    for petitioner in (
        {"name": "张三", "email": "zhang.san@", "notify_channel": "email"},
        {"name": "张三", "email": "zhang san@@example", "phone": "13812345678"},
        {"name": "张三", "phone": "13812345678", "notify_channel": "email"},
    ):
        answer = await register(intake, petitioner)
        assert answer.status_code == 422, (petitioner, answer.text)
        assert [e["loc"] for e in answer.json()["errors"]] == [["body", "petitioner", "email"]], answer.text
        assert "zhang" not in answer.text  # the answer names the field, never echoes the value


async def reply_to_petitioner(notify: Harness, case_id: str, case_no: str) -> dict[str, Any]:
    await notify.publish(handled(subjects.CASE_REPLIED, case_id, case_no, "reply", result="resolved"))

    async def probe() -> dict[str, Any] | None:
        docs = await notify.messages(case_id)
        found = [d for d in docs if d["kind"] == "reply" and d["recipient_key"] == "petitioner"]
        return found[0] if found and found[0]["status"] == "sent" else None

    return await eventually(probe, within=30, what=f"the reply of {case_id} sent")


async def test_a_clerk_switches_to_e_mail_which_is_used_when_an_address_is_held_and_explained_when_not(
    intake: IntakeHarness, notify: Harness
):
    async def registered_and_accepted(petitioner: dict[str, Any]) -> tuple[str, str]:
        answer = await register(intake, petitioner)
        assert answer.status_code == 201, answer.text
        case_id, case_no = answer.json()["case_id"], answer.json()["case_no"]
        [accepted] = await notify.settled(case_id, 1)  # SMS: the default with a phone
        assert (accepted["channel"], accepted["recipient"]) == ("sms", "138****5678")
        async with notify.api("reception_clerk") as clerk:
            changed = await clerk.put(f"/v1/cases/{case_id}/preferences", json={"notify_channel": "email"})
        assert changed.status_code == 200, changed.text
        return case_id, case_no

    with_address = await registered_and_accepted({"name": "李四", "phone": "13812345678", "email": EMAIL})
    reply = await reply_to_petitioner(notify, *with_address)
    assert (reply["channel"], reply["recipient"], reply["channel_reason"]) == ("email", MASKED, None)
    assert {m["To"] for m in await mails_to(notify, 1)} == {EMAIL}  # the reply (and the follow-up's)

    without = await registered_and_accepted({"name": "王五", "phone": "13812345678"})
    reply = await reply_to_petitioner(notify, *without)
    assert (reply["channel"], reply["recipient"]) == ("sms", "138****5678")
    assert reply["channel_reason"] == "e-mail chosen, but no e-mail address is held: told by SMS"
    assert not holds_the_address(await notify.messages(with_address[0]))


class RefusingServer:
    """An SMTP server (aiosmtpd, loopback) that refuses every recipient, quoting the address."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return f"550 5.1.1 <{address}>: mailbox unavailable"


async def test_an_address_the_mail_server_refuses_is_reported_masked(tmp_path):
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(RefusingServer(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        keys = PiiKeys(KeyRing("k", {"k": os.urandom(32)}), b"h" * 32)
        mailer = Mailer(host="127.0.0.1", port=port, sender="dispatch@county.example", timeout=5, keys=keys)
        token = encrypt(keys, EMAIL, aad=email_aad("c-1"))
        message = Outgoing(
            id="m-1",
            kind="reply",
            channel="email",
            case_id="c-1",
            case_no="n",
            subject="答复",
            text="答复内容",
            html=None,
            recipient_key="petitioner",
            email_token=token,
        )
        outcome = await mailer.send(message)
        moved = await mailer.send(replace(message, case_id="c-2"))  # the token of another case
    finally:
        controller.stop()
    assert (
        outcome.status == "permanent" and MASKED in outcome.reason and not holds_the_address(outcome.reason)
    )
    assert moved.status == "permanent" and "cannot be decrypted" in moved.reason


async def test_open311_s_email_field_feeds_the_same_sealed_address(intake: IntakeHarness):
    form = {"api_key": intake.open311_key, "description": CASE["text"], "email": EMAIL}
    async with intake.client("reception_clerk") as door:
        services = (
            await door.get("/open311/v2/services.json", params={"api_key": intake.open311_key})
        ).json()
        form["service_code"] = services[0]["service_code"]
        created = await door.post("/open311/v2/requests.json", data=form)
        refused = await door.post("/open311/v2/requests.json", data=form | {"email": "zhang.san@"})
    assert created.status_code == 201, created.text
    number = created.json()[0]["service_request_id"]
    stored = await intake.intake.cases.cases.find_one({"case_no": number})
    assert stored is not None and stored["petitioner"]["email_masked"] == MASKED
    assert not holds_the_address(stored) and not holds_the_address(created.json())
    assert refused.status_code == 400 and "email:" in refused.text and "zhang" not in refused.text
