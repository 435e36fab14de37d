"""A live figure set: computed once per replica every few seconds, pushed to its connections when it
changed (the board). Not per connection: a connection only waits for the next value.

Each connection holds at most one value, the latest: a reader slower than the figures change skips
the values it had no time for, so nothing piles up. While nobody watches nothing is computed; the
first connection computes the figures if those held are older than the period.
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from dispatch_common.live_http import response
from dispatch_common.settings import ServiceSettings

log = logging.getLogger("dispatch.live")

UNCHANGING_KEYS = frozenset({"at"})  # when they were computed is no change of the figures


class Snapshot:
    """One figure set of a replica and the connections that watch it."""

    def __init__(self, name: str, compute: Callable[[], Awaitable[dict[str, Any]]], seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self._compute = compute
        self.value: dict[str, Any] | None = None
        self._computed = 0.0
        self._watchers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._lock = asyncio.Lock()

    @property
    def connections(self) -> int:
        """How many connections watch it now."""
        return len(self._watchers)

    async def refresh(self, *, force: bool = False) -> None:
        """Compute the figures (if anyone watches) and push them to every watcher if they changed."""
        if not self._watchers and not force:
            return
        async with self._lock:
            value = await self._compute()
            self._computed = time.monotonic()
            changed = self.value is None or _comparable(value) != _comparable(self.value)
            self.value = value
        if changed:
            for queue in list(self._watchers):
                _replace(queue, value)

    async def current(self) -> dict[str, Any]:
        """The figures, computed now if those held are older than the period."""
        if self.value is None or time.monotonic() - self._computed > self.seconds:
            await self.refresh(force=True)
        assert self.value is not None
        return self.value

    def stream(self, settings: ServiceSettings, event: str) -> EventSourceResponse:
        """The server-sent events of one watcher: the figures now, then each change."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(1)

        async def content() -> AsyncIterator[ServerSentEvent]:
            self._watchers.add(queue)
            try:
                _replace(queue, await self.current())
                while True:
                    value = await queue.get()
                    yield ServerSentEvent(
                        data=json.dumps(value, ensure_ascii=False, default=str), event=event
                    )
            finally:
                self._watchers.discard(queue)

        return response(content(), settings)


def _comparable(value: dict[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in value.items() if k not in UNCHANGING_KEYS}, sort_keys=True, default=str
    )


def _replace(queue: asyncio.Queue[dict[str, Any]], value: dict[str, Any]) -> None:
    """Leave only the latest value in a one-place queue."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(value)
