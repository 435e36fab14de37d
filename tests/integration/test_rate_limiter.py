"""The shared rate limiter on the real (embedded) MongoDB server: windows, bursts, Retry-After, two
limiters counting in one collection as two replicas do, one round trip per request, and the sweep."""

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient, monitoring

from dispatch_common import store
from dispatch_common.ratelimit import RateLimit, RateLimiter, retry_after

pytestmark = pytest.mark.integration


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Commands(monitoring.CommandListener):
    """The commands a client sends."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def windows(mongodb_url, db_prefix):  # type: ignore[no-untyped-def]
    client = store.connect(mongodb_url, app_name="test-rate-limits")
    yield client[f"{db_prefix}intake"]["rate_windows"]
    await client.drop_database(f"{db_prefix}intake")
    await client.close()


async def test_a_window_admits_its_requests_then_says_how_long_to_wait(windows) -> None:
    clock = Clock(1_000_040.5)  # 20.5 s into a window of 60 s (which starts at 1,000,020)
    limiter = RateLimiter(windows, {"submit": RateLimit(requests=3, window_seconds=60)}, now=clock)
    assert [await limiter.check("submit", "alice") for _ in range(3)] == [None, None, None]
    assert await limiter.check("submit", "alice") == pytest.approx(39.5)
    assert await limiter.check("submit", "bob") is None  # another client counts apart
    clock.now += 40  # the next window
    assert await limiter.check("submit", "alice") is None
    assert retry_after(39.5) == "40" and retry_after(0.01) == "1"


async def test_a_burst_is_bounded_within_one_second(windows) -> None:
    clock = Clock(2_000_000.25)
    limiter = RateLimiter(windows, {"read": RateLimit(requests=100, window_seconds=60, burst=2)}, now=clock)
    assert [await limiter.check("read", "alice") for _ in range(2)] == [None, None]
    assert await limiter.check("read", "alice") == pytest.approx(0.75)
    clock.now += 1
    assert await limiter.check("read", "alice") is None


async def test_a_role_can_have_its_own_limit(windows) -> None:
    limits = {
        "submit": RateLimit(requests=1, window_seconds=60),
        "submit:external_system": RateLimit(requests=3, window_seconds=60),
    }
    limiter = RateLimiter(windows, limits, now=Clock(3_000_000.0))
    assert [await limiter.check("submit", "hotline", "external_system") is None for _ in range(4)] == [
        True
    ] * 3 + [False]
    assert [await limiter.check("submit", "clerk", "reception_clerk") is None for _ in range(2)] == [
        True,
        False,
    ]


async def test_two_replicas_share_one_limit_under_concurrency(mongodb_url, windows) -> None:
    other = store.connect(mongodb_url, app_name="test-rate-limits-2")
    try:
        clock = Clock(4_000_000.0)
        limit = {"submit": RateLimit(requests=7, window_seconds=60)}
        replicas = [
            RateLimiter(windows, limit, now=clock),
            RateLimiter(other[windows.database.name][windows.name], limit, now=clock),
        ]
        answers = await asyncio.gather(*(replicas[i % 2].check("submit", "alice") for i in range(20)))
        assert sum(a is None for a in answers) == 7
    finally:
        await other.close()


async def test_one_round_trip_per_request_and_the_sweep_deletes_ended_windows(mongodb_url, windows) -> None:
    commands = Commands()
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url, event_listeners=[commands])
    try:
        clock = Clock(5_000_000.0)
        col = client[windows.database.name][windows.name]
        limiter = RateLimiter(col, {"submit": RateLimit(requests=5, window_seconds=10)}, now=clock)
        await limiter.check("submit", "alice")  # the connection's own handshake happens here
        commands.names.clear()
        for who in ("alice", "bob", str(uuid.uuid4())):
            await limiter.check("submit", who)
        assert commands.names == ["findAndModify"] * 3
        assert await col.count_documents({}) == 3
        clock.now += 10  # the windows end
        assert await limiter.check("submit", "carol") is None
        assert await limiter.sweep() == 3
        assert [d["_id"] async for d in col.find({})] == [f"submit|carol|{500_001}"]
    finally:
        await client.close()


async def test_switched_off_nothing_is_counted(windows) -> None:
    limiter = RateLimiter(windows, {"submit": RateLimit(requests=1, window_seconds=60)}, enabled=False)
    assert [await limiter.check("submit", "alice") for _ in range(3)] == [None] * 3
    assert await windows.count_documents({}) == 0
