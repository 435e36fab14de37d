"""The benchmark's HTTP load driver, against small servers on loopback that answer as told."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bench.http_driver import OpenLoopDriver, Request, post

Answer = Callable[[int, asyncio.StreamWriter], Awaitable[bool]]  # request number -> keep the connection?


@asynccontextmanager
async def server(answer: Answer) -> AsyncIterator[tuple[tuple[str, int], list[int]]]:
    """A server on a free loopback port that reads whole requests and answers each with `answer`;
    yields its address and, per connection, how many requests it carried."""
    carried: list[int] = []
    count = 0
    handlers: set[asyncio.Task] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        carried.append(0)
        mine = len(carried) - 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                carried[mine] += 1
                count += 1
                if not await answer(count, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield ("127.0.0.1", port), carried
    finally:
        srv.close()
        for task in handlers:
            task.cancel()


def requests(target: tuple[str, int], n: int) -> list[Request]:
    return [
        post(target, "/v1/cases", b'{"n": %d}' % i, {"Content-Type": "application/json"}) for i in range(n)
    ]


async def created_in_pieces(_: int, writer: asyncio.StreamWriter) -> bool:
    """201 with a body, its head and body written separately (as they may arrive)."""
    body = b'{"case_id": "c", "case_no": "990102-2026-000001", "status": "registered"}'
    writer.write(
        b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
    )
    await writer.drain()
    writer.write(body[:10])
    await writer.drain()
    writer.write(body[10:])
    await writer.drain()
    return True


async def test_each_request_is_answered_once_and_counted_by_status_over_kept_alive_connections():
    async with server(created_in_pieces) as (target, carried):
        driver = OpenLoopDriver()
        await driver.run(requests(target, 40), rate=400)
    assert driver.outcomes == {"201": 40}
    assert len(driver.latencies) == 40 and min(driver.latencies) >= 0
    assert sum(carried) == 40
    assert len(carried) < 40  # connections are kept alive and used again


async def test_a_chunked_answer_and_a_connection_closed_unanswered_are_failures_by_name():
    async def misbehaves(number: int, writer: asyncio.StreamWriter) -> bool:
        if number == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
            await writer.drain()
            return True
        return False  # closes without an answer

    async with server(misbehaves) as (target, _):
        driver = OpenLoopDriver()
        await driver.run(requests(target, 1), rate=100)
        await driver.run(requests(target, 1), rate=100)
    assert driver.outcomes == {"NoContentLength": 1, "ConnectionClosed": 1}


async def test_requests_never_answered_count_as_timeouts_at_the_timeout():
    async def never(_: int, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3600)
        return True

    async with server(never) as (target, _):
        driver = OpenLoopDriver(timeout=0.2)
        await driver.run(requests(target, 3), rate=100)
    assert driver.outcomes == {"TimeoutError": 3}
    assert driver.latencies == [200.0] * 3


async def test_requests_beyond_the_connection_bound_wait_for_a_free_connection():
    async with server(created_in_pieces) as (target, carried):
        driver = OpenLoopDriver(max_connections=2)
        await driver.run(requests(target, 30), rate=2000)
    assert driver.outcomes == {"201": 30}
    assert len(carried) <= 2 and sum(carried) == 30


async def test_each_answer_reaches_the_callback_with_its_request_number_and_whole_body():
    async def echo_number(number: int, writer: asyncio.StreamWriter) -> bool:
        body = b'{"n": %d}' % number
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()
        return True

    answers: dict[int, tuple[str, bytes]] = {}
    async with server(echo_number) as (target, _):
        driver = OpenLoopDriver(max_connections=1, on_answer=lambda i, o, b: answers.update({i: (o, b)}))
        await driver.run(requests(target, 5), rate=1000)
    # one connection answers in order: request i is the server's (i + 1)th
    assert answers == {i: ("201", b'{"n": %d}' % (i + 1)) for i in range(5)}
