"""External systems submit over NATS with their own identities and read their answers from their own
consumers; the submitting system is the one the credential-enforced subject names."""

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import nats
from pymongo import MongoClient

from devtools.stack import Stack
from dispatch_common import subjects
from dispatch_common.envelope import Envelope, make_event
from tests.e2e.flow import settled_case_file, wait_for
from tests.helpers import stream_messages

GRID, HOTLINE = "grid-app", "hotline-12345"
Answer = tuple[str, dict[str, Any]]  # (subject, event)


def grid_report(ref: str, *, source: str = f"/ingress/{GRID}", system: str = GRID, **data: Any) -> Envelope:
    body = {
        "channel": "grid_report",
        "text": "网格巡查发现小区消防通道被车辆长期占用。",
        "grid_worker": {"id": "GW-9"},
        "address": "城关街道幸福锦绣家园",
        "external_ref": {"system": system, "id": ref},
    }
    return make_event(type=subjects.INGRESS_CASE_SUBMIT, source=source, subject=ref, data=body | data)


def hotline_call(ref: str, event_id: str) -> Envelope:
    body = {
        "channel": "hotline_12345",
        "text": "小区门口路灯坏了一个月，晚上很黑，老人出门不方便。",
        "external_ref": {"system": HOTLINE, "id": ref},
    }
    return make_event(
        type=subjects.INGRESS_CASE_SUBMIT,
        source=f"/ingress/{HOTLINE}",
        subject=ref,
        data=body,
        event_id=event_id,
    )


async def submit(stack: Stack, system: str, *items: Envelope | bytes, msg_id: str | None = None) -> None:
    """Publish as the system on its own subject (the only one its user may publish on)."""
    nc = await nats.connect(**stack.nats_options(system))
    try:
        js = nc.jetstream()
        for item in items:
            body = item if isinstance(item, bytes) else item.to_bytes()
            event_id = msg_id or (str(uuid.uuid4()) if isinstance(item, bytes) else item.id)
            subject = subjects.ingress_subject(system, subjects.INGRESS_CASE_SUBMIT)
            await js.publish(subject, body, headers={"Nats-Msg-Id": event_id})
    finally:
        await nc.drain()


async def answers(stack: Stack, system: str, enough: Callable[[list[Answer]], bool]) -> list[Answer]:
    """Read the system's answers from its own consumer, as the system, until `enough` of them came."""
    nc = await nats.connect(**stack.nats_options(system))
    got: list[Answer] = []
    try:
        sub = await nc.jetstream().pull_subscribe_bind(
            subjects.outcome_durable(system), stream=subjects.outcome_stream(system)
        )
        for _ in range(60):
            try:
                for msg in await sub.fetch(16, timeout=0.5):
                    got.append((msg.subject, json.loads(msg.data)))
                    await msg.ack()
            except TimeoutError:
                pass
            if enough(got):
                break
    finally:
        await nc.drain()
    return got


def about(found: list[Answer], ref: str, kind: str | None = None) -> list[Answer]:
    """The answers about one external reference (of one kind: received, rejected...)."""
    return [
        (s, e)
        for s, e in found
        if (e["data"].get("external_ref") or {}).get("id") == ref and (kind is None or s.endswith(f".{kind}"))
    ]


def intake_cases(stack: Stack) -> Any:
    return MongoClient(stack.mongodb_url, tz_aware=True)["dispatch_intake"]["cases"]


def test_a_system_submits_and_hears_back_on_its_own_consumer(stack, dispatcher):
    ref = str(uuid.uuid4())
    good = grid_report(ref)
    again = grid_report(ref)  # the same external reference resubmitted: the same case
    wrong = grid_report(f"bad-{ref}", grid_worker=None)
    asyncio.run(submit(stack, GRID, good, again, wrong, b"\x00not json"))

    def complete(got: list[Answer]) -> bool:
        return len(about(got, ref, "received")) >= 2 and bool(about(got, f"bad-{ref}"))

    got = asyncio.run(answers(stack, GRID, complete))
    accepted = about(got, ref, "received")
    assert {s for s, _ in accepted} == {f"outcome.{GRID}.case.received"}
    assert {e["type"] for _, e in accepted} == {subjects.OUTCOME_RECEIVED}  # the subject without the system
    assert len({e["data"]["case_id"] for _, e in accepted}) == 1
    [(subject, rejected)] = about(got, f"bad-{ref}")
    assert subject == f"outcome.{GRID}.case.rejected"
    assert any("grid worker" in e["msg"] for e in rejected["data"]["errors"])

    case_id = accepted[0][1]["data"]["case_id"]
    assert intake_cases(stack).find_one({"_id": case_id})["submitted_by"] == f"ingress:{GRID}"
    settled_case_file(dispatcher, case_id)

    async def letters() -> list[tuple[dict[str, str], bytes]]:
        nc = await nats.connect(**stack.nats_options())
        try:
            return await stream_messages(nc, subjects.DLQ_STREAM, f"dlq.intake-ingress-{GRID}")
        finally:
            await nc.drain()

    def garbage_dead_lettered() -> bool:  # the garbage came last: its letter may follow the answers
        return any(b"not json" in body or b"\\u0000" in body for _, body in asyncio.run(letters()))

    wait_for(garbage_dead_lettered, what="the dead letter of the message that is not JSON")


def test_a_submission_claiming_another_system_is_rejected_and_registers_nothing(stack):
    forged_source = grid_report(f"src-{uuid.uuid4()}", source=f"/ingress/{HOTLINE}")
    forged_ref = grid_report(f"ref-{uuid.uuid4()}", system=HOTLINE)
    other_type = grid_report(f"type-{uuid.uuid4()}").model_copy(update={"type": "com.example.case.created"})
    asyncio.run(submit(stack, GRID, forged_source, forged_ref, other_type))
    refs = [forged_source.subject, forged_ref.subject, other_type.subject]

    got = asyncio.run(answers(stack, GRID, lambda g: all(about(g, r) for r in refs)))
    [(subject, by_source)] = about(got, forged_source.subject)
    assert subject == f"outcome.{GRID}.case.rejected"
    assert [e["loc"] for e in by_source["data"]["errors"]] == [["source"]]
    assert f"/ingress/{GRID}" in by_source["data"]["errors"][0]["msg"]
    [(subject, by_ref)] = about(got, forged_ref.subject)
    assert subject == f"outcome.{GRID}.case.rejected"
    assert [e["loc"] for e in by_ref["data"]["errors"]] == [["data", "external_ref", "system"]]
    [(subject, by_type)] = about(got, other_type.subject)  # a CloudEvent of another type: answered too
    assert subject == f"outcome.{GRID}.case.rejected"
    assert [e["loc"] for e in by_type["data"]["errors"]] == [["type"]]
    assert intake_cases(stack).count_documents({"external_ref.id": {"$in": refs}}) == 0


def test_two_systems_using_the_same_message_id_are_both_registered(stack):
    shared = str(uuid.uuid4())  # the same Nats-Msg-Id and event id from two systems
    grid = grid_report(f"grid-{shared}")
    grid = grid.model_copy(update={"id": shared})
    hotline = hotline_call(f"hotline-{shared}", event_id=shared)
    asyncio.run(submit(stack, GRID, grid, msg_id=shared))
    asyncio.run(submit(stack, HOTLINE, hotline, msg_id=shared))

    from_grid = asyncio.run(answers(stack, GRID, lambda g: bool(about(g, grid.subject, "received"))))
    from_hotline = asyncio.run(answers(stack, HOTLINE, lambda g: bool(about(g, hotline.subject, "received"))))
    [(_, grid_answer)] = about(from_grid, grid.subject, "received")
    [(subject, hotline_answer)] = about(from_hotline, hotline.subject, "received")
    assert subject == f"outcome.{HOTLINE}.case.received"
    assert grid_answer["type"] == hotline_answer["type"] == subjects.OUTCOME_RECEIVED
    assert grid_answer["data"]["case_id"] != hotline_answer["data"]["case_id"]
    assert grid_answer["id"] != hotline_answer["id"]
    stored = intake_cases(stack).find_one({"_id": hotline_answer["data"]["case_id"]})
    assert stored["submitted_by"] == f"ingress:{HOTLINE}"
