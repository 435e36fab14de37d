"""What the end-to-end benchmark watches: events on the bus, streams and consumers, and each process.

- `Watcher` listens on NATS (a plain subscription, outside JetStream's consumers) and notes when
  each case's `dispatch.case.assigned` and acceptance notice (`dispatch.notification.sent` of kind
  `acceptance`) went by, on the same clock as the load driver's schedule.
- `bus_state` reads every stream's message count and every durable consumer's deliveries and lag:
  messages per case, and whether the platform has drained.
- `process_state` reads each process's CPU time and memory from /proc, and each service's MongoDB
  commands from its /metrics (`dispatch_mongodb_commands_total`).
"""

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from prometheus_client.parser import text_string_to_metric_families

from bench.figures import cpu_seconds
from dispatch_common import subjects

WATCHED = (subjects.CASE_ASSIGNED, subjects.NOTIFICATION_SENT)


@dataclass
class Watcher:
    """When each case was assigned and told of its acceptance, in the event loop's time."""

    assigned: dict[str, float] = field(default_factory=dict)
    accepted_notice: dict[str, float] = field(default_factory=dict)
    # the event ids each was seen with: two ids for a case would be an effect applied twice; one id
    # seen twice is a publish repeated (a relay retried), which the stream stored once (a plain
    # subscription sees every publish, JetStream's duplicate window keeps the first)
    ids: defaultdict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    _nc: NatsClient | None = None

    async def start(self, url: str, **connect: Any) -> None:
        """Subscribe to the events it times."""
        self._nc = await nats.connect(url, **connect)
        for subject in WATCHED:
            await self._nc.subscribe(subject, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        now = asyncio.get_running_loop().time()
        event = json.loads(msg.data)
        data = event.get("data") or {}
        case_id = data.get("case_id")
        if not case_id:
            return
        if event["type"] == subjects.CASE_ASSIGNED:
            self.assigned.setdefault(case_id, now)
            what = "assigned"
        elif data.get("kind") == "acceptance":
            self.accepted_notice.setdefault(case_id, now)
            what = "acceptance notice"
        else:
            return
        self.seen[what, case_id] += 1
        self.ids[what, case_id].add(str(event.get("id")))

    def duplicated(self) -> dict[str, int]:
        """Cases whose assignment or acceptance notice happened more than once (distinct event ids)."""
        out: Counter[str] = Counter(what for (what, _), ids in self.ids.items() if len(ids) > 1)
        return {what: out[what] for what in ("assigned", "acceptance notice")}

    def republished(self) -> dict[str, int]:
        """Cases whose one assignment or acceptance notice was published more than once (same id)."""
        out: Counter[str] = Counter(key[0] for key, times in self.seen.items() if times > len(self.ids[key]))
        return {what: out[what] for what in ("assigned", "acceptance notice")}

    @property
    def client(self) -> NatsClient:
        """The NATS connection (also used to read stream and consumer state)."""
        assert self._nc is not None, "start() first"
        return self._nc

    async def stop(self) -> None:
        """Unsubscribe and close."""
        if self._nc is not None:
            await self._nc.drain()


async def bus_state(nc: NatsClient) -> dict[str, Any]:
    """Messages per stream, deliveries per consumer (redeliveries included), and the lag left."""
    js = nc.jetstream()
    streams: dict[str, int] = {}
    delivered: dict[str, int] = {}
    lag = 0
    for info in await js.streams_info():
        name = info.config.name
        streams[name] = info.state.messages
        if name == subjects.DLQ_STREAM:
            continue
        for consumer in await js.consumers_info(name):
            delivered[f"{name}/{consumer.name}"] = consumer.delivered.consumer_seq
            lag += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
    return {"streams": streams, "delivered": delivered, "lag": lag}


async def wait_drained(nc: NatsClient, *, within: float, poll: float = 0.5) -> tuple[float | None, int]:
    """Wait until no consumer has anything pending or unacknowledged and no stream grew for a second;
    return the seconds it took (None if not `within` the seconds given) and the lag left."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    quiet, previous = 0, None
    while True:
        state = await bus_state(nc)
        if state["lag"] == 0 and state["streams"] == previous:
            quiet += 1
            if quiet >= 2:
                return round(loop.time() - started - quiet * poll, 1), 0
        else:
            quiet = 0
        previous = state["streams"]
        if loop.time() - started > within:
            return None, state["lag"]
        await asyncio.sleep(poll)


def _memory_mb(pid: int) -> dict[str, float]:
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        pass
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0)}


async def service_counts(base_url: str, client: httpx.AsyncClient) -> tuple[dict[str, float], float]:
    """A service process's MongoDB commands so far, by `command collection` (e.g. `find cases`), and
    the events its consumers applied, from its /metrics."""
    text = (await client.get(f"{base_url}/metrics")).text
    counts: dict[str, float] = defaultdict(float)
    applied = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            if family.name == "dispatch_mongodb_commands":
                counts[f"{sample.labels['command']} {sample.labels.get('collection', '-')}"] += sample.value
            elif family.name == "dispatch_events_consumed" and sample.labels.get("outcome") == "applied":
                applied += sample.value
    return dict(counts), applied


async def process_state(pids: dict[str, int], urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    """CPU seconds and memory of every process; MongoDB commands of those with a /metrics URL."""
    state: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for name, pid in pids.items():
            state[name] = {"cpu_s": cpu_seconds(pid) or 0.0, **_memory_mb(pid)}
            if name in urls:
                state[name]["mongodb"], state[name]["applied"] = await service_counts(urls[name], client)
    return state
