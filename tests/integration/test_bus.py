"""The consumer mechanism against the real nats-server and embedded MongoDB server."""

import json
import uuid

import pytest

from dispatch_common import subjects
from dispatch_common.bus import Delivery, Reject
from dispatch_common.envelope import make_event
from dispatch_common.runtime import Runtime
from tests.helpers import eventually, stream_messages

pytestmark = pytest.mark.integration


def received_event(case_id: str | None = None) -> dict:
    """A valid dispatch.case.received envelope."""
    case_id = case_id or str(uuid.uuid4())
    return make_event(
        type=subjects.CASE_RECEIVED,
        source="/dispatch/intake",
        subject=case_id,
        data={
            "case_id": case_id,
            "case_no": "990102-2026-000001",
            "channel": "hotline_12345",
            "text": "路灯不亮",
            "received_at": "2026-11-23T01:00:00+00:00",
            "petitioner": {"anonymous": True},
        },
    ).to_document()


async def start_probe(make_settings, runtimes, handler, **overrides) -> Runtime:
    """A runtime with one consumer on dispatch.case.received whose effect the test can count."""
    rt = Runtime(make_settings(**overrides))
    rt.bus.consume(subject=subjects.CASE_RECEIVED, durable="probe-received", handler=handler)
    await rt.start()
    runtimes.append(rt)
    return rt


async def dead_letters(nats_client, durable: str = "probe-received") -> list[dict]:
    """The dead-letter records of a consumer."""
    msgs = await stream_messages(nats_client, subjects.DLQ_STREAM, subjects.dead_letter_subject(durable))
    return [json.loads(body) | {"_headers": headers} for headers, body in msgs]


async def test_the_same_event_delivered_twice_has_one_effect(make_settings, runtimes, nats_client):
    effects: list[str] = []

    async def handler(d: Delivery) -> None:
        effects.append(d.event.id)

    rt = await start_probe(make_settings, runtimes, handler)
    event = received_event()
    js = nats_client.jetstream()
    body = json.dumps(event).encode()
    # Same Nats-Msg-Id twice: JetStream keeps one message.
    first = await js.publish(subjects.CASE_RECEIVED, body, headers={"Nats-Msg-Id": event["id"]})
    again = await js.publish(subjects.CASE_RECEIVED, body, headers={"Nats-Msg-Id": event["id"]})
    assert again.duplicate and again.seq == first.seq
    # A redelivery that got past the window (another Msg-Id, same event id): the consumer skips it.
    await js.publish(subjects.CASE_RECEIVED, body, headers={"Nats-Msg-Id": f"{event['id']}-resent"})
    marker = received_event()
    await js.publish(
        subjects.CASE_RECEIVED, json.dumps(marker).encode(), headers={"Nats-Msg-Id": marker["id"]}
    )
    await eventually(lambda: _async(marker["id"] in effects), what="the marker event to be applied")
    assert effects.count(event["id"]) == 1
    processed = await rt.db["processed_events"].count_documents({"event_id": event["id"]})
    assert processed == 1


async def test_a_malformed_message_is_dead_lettered_with_its_reason_and_the_consumer_goes_on(
    make_settings, runtimes, nats_client
):
    applied: list[str] = []

    async def handler(d: Delivery) -> None:
        applied.append(d.event.id)

    await start_probe(make_settings, runtimes, handler)
    js = nats_client.jetstream()
    await js.publish(subjects.CASE_RECEIVED, b"{not json", headers={"Nats-Msg-Id": "garbage-1"})
    wrong = received_event()
    del wrong["data"]["case_no"]
    await js.publish(subjects.CASE_RECEIVED, json.dumps(wrong).encode(), headers={"Nats-Msg-Id": wrong["id"]})
    good = received_event()
    await js.publish(subjects.CASE_RECEIVED, json.dumps(good).encode(), headers={"Nats-Msg-Id": good["id"]})

    await eventually(lambda: _async(good["id"] in applied), what="the valid event after the bad ones")
    letters = await eventually(lambda: _dl_count(nats_client, 2), what="two dead letters")
    by_payload = {letter["payload"]: letter for letter in letters}
    assert "malformed event" in by_payload["{not json"]["reason"]
    schema_letter = next(v for k, v in by_payload.items() if wrong["id"] in k)
    assert "case_no" in schema_letter["reason"] and "required" in schema_letter["reason"]
    assert schema_letter["_headers"]["Dispatch-Dead-Letter-Reason"].startswith("malformed event")
    assert schema_letter["subject"] == subjects.CASE_RECEIVED
    assert json.loads(schema_letter["payload"]) == wrong  # the original is kept whole
    assert applied == [good["id"]]


async def test_a_failing_handler_is_retried_with_back_off_then_dead_lettered(
    make_settings, runtimes, nats_client
):
    attempts: list[int] = []

    async def handler(d: Delivery) -> None:
        attempts.append(d.deliveries)
        raise RuntimeError("unit directory unavailable")

    rt = await start_probe(make_settings, runtimes, handler, consumer_max_deliver=3)
    event = received_event()
    await rt.bus.publish_event(event)
    letters = await eventually(lambda: _dl_count(nats_client, 1), what="the dead letter")
    assert attempts == [1, 2, 3]
    assert "failed 3 times" in letters[0]["reason"] and "unit directory unavailable" in letters[0]["reason"]
    assert await rt.db["processed_events"].count_documents({}) == 0


async def test_a_handler_that_recovers_applies_the_event_once(make_settings, runtimes, nats_client):
    attempts: list[int] = []

    async def handler(d: Delivery) -> None:
        attempts.append(d.deliveries)
        if d.deliveries < 2:
            raise ConnectionError("transient")

    rt = await start_probe(make_settings, runtimes, handler)
    await rt.bus.publish_event(received_event())
    await eventually(lambda: rt.db["processed_events"].count_documents({}), what="the event to be applied")
    assert attempts == [1, 2]
    assert await dead_letters(nats_client) == []


async def test_a_rejected_event_is_dead_lettered_at_once(make_settings, runtimes, nats_client):
    async def handler(d: Delivery) -> None:
        raise Reject("case belongs to another county")

    rt = await start_probe(make_settings, runtimes, handler)
    await rt.bus.publish_event(received_event())
    letters = await eventually(lambda: _dl_count(nats_client, 1), what="the dead letter")
    assert letters[0]["reason"] == "rejected: case belongs to another county"
    assert letters[0]["deliveries"] == 1


async def _async(value):
    return value


async def _dl_count(nats_client, n: int):
    letters = await dead_letters(nats_client)
    return letters if len(letters) >= n else None
