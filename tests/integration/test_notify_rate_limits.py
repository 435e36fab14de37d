"""Notify's channel rate limits hold across replicas: two notify processes on one database send, between
them, at most the channel's rate in each window of the (test's) clock."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bench.notify_fakes import screened
from dispatch_common.clock import FixedClock
from services.notify.adapters.rate_limits import window_of
from tests.helpers import MONDAY, eventually
from tests.notify_support import Harness, start_notify, stop_notify

pytestmark = pytest.mark.integration
RATE = 3.0
CASES = 8


@pytest.fixture
async def replicas(servers) -> AsyncIterator[tuple[Harness, Harness, FixedClock]]:
    clock = FixedClock(MONDAY)
    shared = {
        "mongodb_db_prefix": f"t{uuid.uuid4().hex[:10]}_",  # one database: two replicas of one service
        "channel_rate_limits": {"sms": RATE, "email": 1000.0, "webhook": 1000.0},
    }
    first = await start_notify(**servers, clock=clock, **shared)
    second = await start_notify(**servers, clock=clock, **shared)
    yield first, second, clock
    await stop_notify(first)
    await stop_notify(second)


async def test_two_replicas_send_no_more_than_the_rate_in_a_window_between_them(replicas, servers) -> None:
    first, second, clock = replicas
    for n in range(CASES):
        case_id = str(uuid.uuid4())
        contact = first.contact("13812345678", case_id)
        await first.publish(screened(case_id, f"990102-2026-8{n:05d}", **contact))

    def sent() -> int:
        return len(first.gateway.requests) + len(second.gateway.requests)

    await eventually(lambda: _at_least(sent, RATE), what="the first window's budget")
    await asyncio.sleep(3)  # rounds of both replicas: their own token buckets would allow 9 more each
    assert sent() == RATE  # one window of the fixed clock: its budget, no more
    clock.advance(timedelta(seconds=1))
    await eventually(lambda: _at_least(sent, 2 * RATE), what="the next window's budget")
    assert sent() == 2 * RATE


async def _at_least(count, n: float) -> bool:  # type: ignore[no-untyped-def]
    return count() >= n


def test_a_rate_below_one_a_second_gets_a_longer_window() -> None:
    assert window_of(20.0) == (1, 20)
    assert window_of(0.5) == (2, 1)
    assert window_of(0.2) == (5, 1)
