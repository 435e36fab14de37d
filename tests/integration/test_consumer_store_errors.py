"""A store error around a consumer's handler takes the back-off path and is counted: the message comes
back after the back-off, not after the ack wait, and is applied once the store answers again."""

import socket

import pytest
from pymongo import AsyncMongoClient

from dispatch_common import metrics
from dispatch_common.bus import Delivery
from dispatch_common.runtime import Runtime
from tests.helpers import eventually
from tests.integration.test_bus import received_event

pytestmark = pytest.mark.integration

DURABLE = "probe-store-errors"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count(stage: str) -> float:
    return metrics.CONSUMER_STORE_ERRORS.labels("probe", DURABLE, stage)._value.get()


async def test_an_inbox_that_cannot_be_read_backs_off_and_counts_then_applies(
    make_settings, runtimes, nats_client
):
    applied: list[int] = []

    async def handler(d: Delivery) -> None:
        applied.append(d.deliveries)

    # A long ack wait: a message left to it would not come back within this test.
    settings = make_settings(
        consumer_ack_wait_seconds=600.0, consumer_backoff_seconds=[0.2], consumer_max_deliver=5
    )
    rt = Runtime(settings)
    rt.bus.consume(subject="dispatch.case.received", durable=DURABLE, handler=handler)
    [loop] = rt.bus._loops
    good_inbox = loop.consumer.inbox
    # The inbox on a MongoDB that is not there: a real failure of the driver, not a stand-in.
    away = AsyncMongoClient(
        f"mongodb://127.0.0.1:{_closed_port()}/?directConnection=true", serverSelectionTimeoutMS=200
    )
    loop.consumer.inbox = away["probe"]["processed_events"]
    await rt.start()
    runtimes.append(rt)
    before = _count("inbox")

    await rt.bus.publish_event(received_event())
    await eventually(lambda: _async(_count("inbox") >= before + 2), what="two inbox failures, backed off")
    assert applied == []  # the handler never ran on an unknown inbox

    loop.consumer.inbox = good_inbox  # the store is back
    deliveries = await eventually(lambda: _async(applied), what="the event applied once the store answers")
    assert deliveries[0] >= 3  # it came back after each back-off, never waiting for the 600 s ack wait
    retried = metrics.EVENTS_CONSUMED.labels("probe", DURABLE, "retried")._value.get()
    assert retried >= 2
    await away.close()


async def _async(value):  # type: ignore[no-untyped-def]
    return value
