"""Reading server-sent events in tests, as a frontend's `fetch` reader does: line by line, by message."""

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Sse:
    """One message of a stream (or a comment line such as `: ping`)."""

    event: str | None = None
    id: str | None = None
    data: Any = None
    comment: str | None = None
    retry: int | None = None


def messages(lines: Iterable[str]) -> Iterator[Sse]:
    """The messages of a stream's lines (comments come as their own message)."""
    current = Sse()
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or current.event or current.id or current.retry is not None:
                current.data = json.loads("\n".join(data)) if data else None
                yield current
            current, data = Sse(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            yield Sse(comment=value)
        elif name == "data":
            data.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "retry":
            current.retry = int(value)


@dataclass
class Collected:
    """What a reader received so far, and how its connection went."""

    received: list[Sse] = field(default_factory=list)
    status: int | None = None
    ended: bool = False

    def named(self, *names: str) -> list[Sse]:
        return [m for m in self.received if m.event in names]

    def ready(self) -> Sse | None:
        return next(iter(self.named("ready")), None)


class AsyncReader:
    """A stream read in a task of the test's event loop."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> None:
        self.client, self.url, self.headers = client, url, headers or {}
        self.got = Collected()
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        try:
            async with self.client.stream("GET", self.url, headers=self.headers, timeout=None) as response:
                self.got.status = response.status_code
                lines: asyncio.Queue[str | None] = asyncio.Queue()

                async def pump() -> None:
                    async for line in response.aiter_lines():
                        await lines.put(line)
                    await lines.put(None)

                pumping = asyncio.create_task(pump())
                try:
                    buffered: list[str] = []
                    while (line := await lines.get()) is not None:
                        buffered.append(line)
                        if line == "" or line.startswith(":"):
                            self.got.received += list(messages(buffered))
                            buffered = []
                finally:
                    pumping.cancel()
        except httpx.HTTPError:
            pass
        finally:
            self.got.ended = True

    def start(self) -> "AsyncReader":
        self._task = asyncio.create_task(self._read())
        return self

    async def until(self, check: Callable[[Collected], Any], within: float = 30.0) -> Any:
        """Wait until check(what was received) is truthy (a bound on waiting, not a timing figure)."""
        try:
            async with asyncio.timeout(within):
                while not (found := check(self.got)):  # noqa: ASYNC110 (a list filled by a task)
                    await asyncio.sleep(0.02)
                return found
        except TimeoutError:
            raise AssertionError(f"stream {self.url}: timed out; received {self.got.received!r}") from None

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class ThreadReader:
    """A stream read in a thread, for the synchronous end-to-end tests."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.got = Collected()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self.url, headers=self.headers) as response:
                self.got.status = response.status_code
                buffered: list[str] = []
                for line in response.iter_lines():
                    buffered.append(line)
                    if line == "" or line.startswith(":"):
                        self.got.received += list(messages(buffered))
                        buffered = []
        except httpx.HTTPError:
            pass
        finally:
            self.got.ended = True

    def start(self) -> "ThreadReader":
        self._thread.start()
        return self

    def until(self, check: Callable[[Collected], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := check(self.got):
                return found
            time.sleep(0.05)
        raise AssertionError(f"stream {self.url}: timed out; received {self.got.received!r}")

    def close(self) -> None:
        self._client.close()
