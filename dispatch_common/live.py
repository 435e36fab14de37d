"""Live updates: one JetStream reader per replica, fanned out in memory to the connections that watch.

A `Hub` reads the DISPATCH stream from where it stood when the replica started, through one ordered
(ephemeral, unacknowledged) consumer filtered to the subjects its streams tell of. The service's
`prepare` turns each event into what its streams need (reading its own projection once per event and
replica, never per connection); the hub keeps the last `window` of those in memory and offers each to
every subscriber whose `wants` accepts it, through a bounded queue: a subscriber that falls that far
behind is cut off (its queue ends with `None`), never buffered for ever.

A position is the event's stream sequence, the same in every replica. A subscriber resuming after a
position the window still covers gets the rest from the window; an older one is replayed from
JetStream by sequence (`replay`); one JetStream no longer holds raises `Gone` (the client reloads).
The HTTP side (server-sent events) is dispatch_common/live_http.py.
"""

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from dispatch_common import subjects

log = logging.getLogger("dispatch.live")

PREPARE_ATTEMPTS = 3
REPLAY_IDLE_SECONDS = 0.5
REPLAY_LIMIT = 100_000
"""A reader further behind than this many stream positions is told to reload rather than replayed."""


@dataclass(frozen=True)
class Item:
    """One event as the service's streams see it: its stream sequence and what `prepare` made of it."""

    seq: int
    value: Any


Event = tuple[int, dict[str, Any]]
"""An event read: its stream sequence and its envelope."""
Prepare = Callable[[list[Event]], Awaitable[list[Any]]]
"""Events read together -> what the streams need of each (None when they need nothing of it), in
order: a batch lets the service read its projection once for all of them."""
BATCH = 256


def one_by_one(prepare: Callable[[int, dict[str, Any]], Awaitable[Any]]) -> Prepare:
    """A `Prepare` from a function of one event (one that reads nothing, or little)."""

    async def batch(events: list[Event]) -> list[Any]:
        return [await prepare(seq, event) for seq, event in events]

    return batch


Wants = Callable[[Item], bool]


class Gone(Exception):
    """The position asked for is no longer in JetStream: the client must reload what it shows."""


class Subscriber:
    """One connection's place at the hub: what it wants and its bounded queue."""

    def __init__(self, wants: Wants, size: int) -> None:
        self.wants = wants
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(size + 1)  # + room for the end mark
        self.size = size
        self.cut = False

    def offer(self, item: Item) -> bool:
        """Queue an item it wants; False (and the queue ends) when it is `size` items behind."""
        if not self.wants(item):
            return True
        if self.queue.qsize() >= self.size:
            self.cut = True
            self.queue.put_nowait(None)
            return False
        self.queue.put_nowait(item)
        return True


class Hub:
    """One replica's reader of the events some live streams tell of, and its connections."""

    def __init__(
        self,
        name: str,
        *,
        filters: tuple[str, ...],
        prepare: Prepare,
        window: int = 4096,
        queue_size: int = 256,
        stream: str = subjects.DISPATCH_STREAM,
    ) -> None:
        self.name = name
        self.filters = filters
        self.stream = stream
        self.queue_size = queue_size
        self._prepare = prepare
        self._window_size = window
        self._window: deque[Item] = deque()
        self._subscribers: set[Subscriber] = set()
        self._js: JetStreamContext | None = None
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._incoming: asyncio.Queue[Msg] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self.floor = 0  # every event after this position is in the window (or meant nothing)
        self.position = 0  # the last position read
        self.started = asyncio.Event()

    @property
    def connections(self) -> int:
        """How many subscribers the hub feeds now."""
        return len(self._subscribers)

    def _config(self, start: int) -> ConsumerConfig:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        if len(self.filters) > 1:
            config.filter_subjects = list(self.filters)
        return config

    async def _subscribe(self, js: JetStreamContext, start: int, cb: Any = None) -> Any:
        return await js.subscribe(
            self.filters[0], stream=self.stream, ordered_consumer=True, config=self._config(start), cb=cb
        )

    async def start(self, js: JetStreamContext) -> None:
        """Read from the end of the stream on (what came before is JetStream's to replay)."""
        info = await js.stream_info(self.stream)
        self._js = js
        self.floor = self.position = info.state.last_seq
        self._pump = asyncio.create_task(self._apply_incoming(), name=f"live-{self.name}-pump")
        self._sub = await self._subscribe(js, self.position + 1, cb=self._on_message)
        self.started.set()
        log.info("live hub reading", extra={"hub": self.name, "from": self.position + 1})

    def start_in_background(self, js: JetStreamContext) -> None:
        """Start, retrying until NATS answers (the service's requests do not wait for it)."""

        async def keep_trying() -> None:
            delay = 0.2
            while not self.started.is_set():
                try:
                    await self.start(js)
                except Exception:
                    log.warning("live hub could not start; retrying", extra={"hub": self.name}, exc_info=True)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)

        self._task = asyncio.create_task(keep_trying(), name=f"live-{self.name}")

    async def stop(self) -> None:
        """Stop reading and end every connection."""
        for task in (self._task, self._pump):
            if task and not task.done():
                task.cancel()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        for subscriber in list(self._subscribers):
            subscriber.queue.put_nowait(None)
        self._subscribers.clear()

    async def _prepared(self, events: list[Event]) -> list[Any]:
        if not events:
            return []
        for attempt in range(1, PREPARE_ATTEMPTS + 1):
            try:
                return await self._prepare(events)
            except Exception:
                if attempt == PREPARE_ATTEMPTS:
                    log.exception("live events left out", extra={"hub": self.name, "seq": events[0][0]})
                    return [None] * len(events)
                await asyncio.sleep(0.1 * attempt)
        return [None] * len(events)

    async def _on_message(self, msg: Msg) -> None:
        self._incoming.put_nowait(msg)  # prepared in batches by _apply_incoming, in order

    async def _apply_incoming(self) -> None:
        while True:
            batch = [await self._incoming.get()]
            while not self._incoming.empty() and len(batch) < BATCH:
                batch.append(self._incoming.get_nowait())
            events = [e for e in map(_event, batch) if e[0] > self.position]  # a reset reads some again
            if events and not self._subscribers:
                # nobody watches: prepare nothing (no reads for an empty room); a reader that resumes
                # from before now replays from JetStream, which prepares what it asks for
                self.position = self.floor = events[-1][0]
                self._window.clear()
                continue
            for (seq, _), value in zip(events, await self._prepared(events), strict=True):
                self.position = seq
                if value is not None:
                    self.publish(Item(seq, value))

    def publish(self, item: Item) -> None:
        """Keep an item in the window and offer it to every subscriber (no await: nothing interleaves)."""
        self._window.append(item)
        while len(self._window) > self._window_size:
            self.floor = self._window.popleft().seq
        for subscriber in list(self._subscribers):
            if not subscriber.offer(item):
                self._subscribers.discard(subscriber)
                log.info("slow live reader cut off", extra={"hub": self.name, "seq": item.seq})

    def subscribe(self, wants: Wants, after: int | None) -> tuple[Subscriber, list[Item] | None, int]:
        """Register a subscriber; with the items after `after` the window holds (None: older than the
        window, replay them from JetStream up to the returned position)."""
        subscriber = Subscriber(wants, self.queue_size)
        self._subscribers.add(subscriber)
        if after is None or after >= self.position:
            return subscriber, [], self.position
        if after < self.floor:
            return subscriber, None, self.position
        return subscriber, [i for i in self._window if i.seq > after and wants(i)], self.position

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a subscriber (its connection ended)."""
        self._subscribers.discard(subscriber)

    async def reached(self, position: int) -> bool:
        """Whether the stream has reached a position (one from a replica ahead of this one), or the
        position is none of this stream's (it was made anew: the reader must reload)."""
        if self._js is None:
            return False
        return (await self._js.stream_info(self.stream)).state.last_seq >= position

    async def replay(self, after: int, upto: int, wants: Wants) -> AsyncIterator[Item]:
        """The items after `after` up to `upto` from JetStream, in order; `Gone` when the stream no
        longer holds the first of them."""
        if self._js is None:
            raise Gone("not reading yet")
        info = await self._js.stream_info(self.stream)
        if after + 1 < info.state.first_seq or after > info.state.last_seq:
            raise Gone(f"position {after} is no longer in {self.stream}")
        if upto - after > REPLAY_LIMIT:
            raise Gone(f"position {after} is more than {REPLAY_LIMIT} events behind: reload")
        sub = await self._subscribe(self._js, after + 1)
        try:
            done = False
            while not done:
                events: list[Event] = []
                while len(events) < BATCH:
                    try:
                        msg = await sub.next_msg(timeout=REPLAY_IDLE_SECONDS)
                    except TimeoutError:
                        if (await sub.consumer_info()).num_pending == 0:
                            done = True  # nothing more up to `upto` matches the filters
                            break
                        continue
                    event = _event(msg)
                    if event[0] > upto:
                        done = True
                        break
                    events.append(event)
                    if event[0] == upto:
                        done = True
                        break
                for (seq, _), value in zip(events, await self._prepared(events), strict=True):
                    if value is not None and wants(item := Item(seq, value)):
                        yield item
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


def _event(msg: Msg) -> Event:
    """An event read: its sequence and envelope (an unreadable one becomes an empty envelope)."""
    try:
        event = json.loads(msg.data)
    except ValueError:
        event = {}
    return msg.metadata.sequence.stream, event if isinstance(event, dict) else {}
