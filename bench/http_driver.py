"""An open-loop HTTP/1.1 load driver that costs little CPU, because it shares the machine it measures.

On the 2 cores of a development machine aiohttp's client used 0.42-0.55 ms of CPU per request, a
tenth of a core at 200 requests/s taken from the services under test; this driver uses 0.17-0.22 ms
(bench/intake_load, 2026-11-23). It does only what a load generator needs:
- it keeps connections alive and sends one request at a time on each (no pipelining, as browsers
  and API clients behave), opening another while all are busy, up to a bound per target;
- it writes pre-encoded requests;
- it reads each answer only as far as the status line, `Content-Length` and the body.

Requests go out at their scheduled times whatever the answers, and latency counts from the
scheduled time, so a slow answer delays no later measurement (no coordinated omission). A request
still unanswered `timeout` seconds after the last one was scheduled counts as a `TimeoutError` at
that latency. An answer without `Content-Length` (chunked) and a connection closed before its answer
are failures of that request, counted by name, never a latency figure of success.
"""

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass, field

Target = tuple[str, int]  # host, port
# requests (data, scheduled time, index) waiting for a connection
Waiting = collections.deque[tuple[bytes, float, int]]
Done = Callable[[str, bytes], None]  # an answer's outcome (its status, or an error's name) and its body


@dataclass(frozen=True)
class Request:
    """One pre-encoded request and where it goes."""

    target: Target
    data: bytes


def post(target: Target, path: str, body: bytes, headers: dict[str, str]) -> Request:
    """A pre-encoded HTTP/1.1 POST of `body` to `path`."""
    host, port = target
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return Request(target, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


Callback = Callable[["_Connection"], None]


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time; `done(outcome)` ends each."""

    def __init__(
        self,
        target: Target,
        on_free: Callable[["_Connection"], None],
        on_lost: Callable[["_Connection"], None],
    ) -> None:
        self.target = target
        self._on_free, self._on_lost = on_free, on_lost
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._need = -1  # the whole answer's length in bytes, once its head is read
        self._status = ""
        self._done: Done | None = None
        self._head = 0  # where the body starts, once the head is read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def send(self, data: bytes, done: Done) -> None:
        assert self._transport is not None and self._done is None
        self._buffer.clear()
        self._need = -1
        self._done = done
        self._transport.write(data)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._need < 0:
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = bytes(self._buffer[:head_end]).decode("latin-1").split("\r\n")
            self._status = lines[0].split(" ", 2)[1]
            length = next(
                (int(line.split(":", 1)[1]) for line in lines[1:] if line[:15].lower() == "content-length:"),
                None,
            )
            if length is None:
                self._finish("NoContentLength")
                self.close()
                return
            self._head = head_end + 4
            self._need = self._head + length
        if len(self._buffer) >= self._need:
            self._finish(self._status, bytes(self._buffer[self._head : self._need]))
            self._on_free(self)

    def _finish(self, outcome: str, body: bytes = b"") -> None:
        done, self._done = self._done, None
        if done is not None:
            done(outcome, body)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(type(exc).__name__ if exc else "ConnectionClosed")
        self._on_lost(self)


@dataclass
class OpenLoopDriver:
    """Sends requests at a fixed rate; collects each one's latency (ms) and outcome (status or error)."""

    max_connections: int = 256  # per target
    timeout: float = 10.0
    # Called with each answered request's index, outcome and body (e.g. to learn the ids it created).
    on_answer: Callable[[int, str, bytes], None] | None = None
    latencies: list[float] = field(default_factory=list)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)

    async def run(self, requests: list[Request], rate: float) -> float:
        """Send request i at start + i / rate, wait for the answers; return the elapsed seconds."""
        loop = asyncio.get_running_loop()
        idle: dict[Target, list[_Connection]] = collections.defaultdict(list)
        queued: dict[Target, Waiting] = collections.defaultdict(collections.deque)
        opened: collections.Counter[Target] = collections.Counter()
        live: set[_Connection] = set()
        tasks: set[asyncio.Task[None]] = set()
        outstanding = len(requests)
        finished = loop.create_future()

        def record(scheduled: float, index: int, outcome: str, body: bytes = b"") -> None:
            nonlocal outstanding
            if finished.done():
                return  # an answer after the timeout, counted as a timeout already
            self.latencies.append((loop.time() - scheduled) * 1000)
            self.outcomes[outcome] += 1
            if self.on_answer is not None:
                self.on_answer(index, outcome, body)
            outstanding -= 1
            if outstanding == 0:
                finished.set_result(None)

        def send(conn: _Connection, data: bytes, scheduled: float, index: int) -> None:
            conn.send(data, lambda outcome, body: record(scheduled, index, outcome, body))

        def on_free(conn: _Connection) -> None:
            waiting = queued[conn.target]
            if waiting:
                send(conn, *waiting.popleft())
            else:
                idle[conn.target].append(conn)

        def on_lost(conn: _Connection) -> None:  # by the server, or closed here at the end
            opened[conn.target] -= 1
            live.discard(conn)
            if conn in idle[conn.target]:
                idle[conn.target].remove(conn)

        async def open_and_send(target: Target, data: bytes, scheduled: float, index: int) -> None:
            try:
                _, conn = await loop.create_connection(lambda: _Connection(target, on_free, on_lost), *target)
            except OSError as exc:
                opened[target] -= 1
                record(scheduled, index, type(exc).__name__)
                return
            live.add(conn)
            send(conn, data, scheduled, index)

        start = loop.time()
        for i, request in enumerate(requests):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            target = request.target
            free = idle[target]
            if free:
                send(free.pop(), request.data, scheduled, i)
            elif opened[target] < self.max_connections:
                opened[target] += 1
                task = asyncio.create_task(open_and_send(target, request.data, scheduled, i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                queued[target].append((request.data, scheduled, i))
        try:
            await asyncio.wait_for(asyncio.shield(finished), timeout=self.timeout)
        except TimeoutError:
            self.outcomes["TimeoutError"] += outstanding
            self.latencies.extend([self.timeout * 1000] * outstanding)  # at least this long
            finished.set_result(None)
        elapsed = loop.time() - start
        for conn in list(live):
            conn.close()
        return elapsed
