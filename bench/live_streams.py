"""Live streams (server-sent events) on the platform as `make run` starts it.

(a) Submission -> the case on a dispatcher's streams: a dispatcher reads the county worklist stream
(supervision) and the manual queue stream (routing) while cases are sent open-loop at --rate for
--seconds (bench/case_mix.py); for each case, the time from its scheduled send to its first `case`
message (assigned to a unit) or its `entered` message (sent to people), p50/p99; beside them, the
time to `dispatch.case.assigned` on NATS (a core subscription as `ops`) and from there to the
stream's message: what the platform takes, and what the live stream adds.

(b) Idle connections held by one replica: --connections readers of a unit's worklist stream on
supervision (one process), each registered (its `ready` received), held for --hold seconds with a
heartbeat every LIVE_HEARTBEAT_SECONDS; supervision's resident memory before and after, and how many
were still open at the end.

Figures, never pass/fail; JSON to --out (default .bench/live_streams.json). Everything binds to
127.0.0.1 and stops when the benchmark ends.
"""

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats

from bench.case_mix import CaseMix
from bench.e2e_observe import _memory_mb
from bench.figures import percentile
from devtools.keys import issue_token
from devtools.stack import SERVICES, Stack, free_port
from dispatch_common import subjects
from dispatch_common.paths import DEFAULT_COUNTY_DIR, REPO_ROOT
from tests.live_support import messages

ENV = {
    "ENVIRONMENT": "test",
    "OUTBOX_POLL_SECONDS": "0.2",
    "RATE_LIMIT_ENABLED": "false",
    "LOG_LEVEL": "WARNING",
    "LIVE_HEARTBEAT_SECONDS": "5",
}


class Watch:
    """One stream read in a task: when each case was first told, by event name."""

    def __init__(self, client: httpx.AsyncClient, url: str, token: str) -> None:
        self.client, self.url, self.token = client, url, token
        self.first: dict[tuple[str, str], float] = {}
        self.ready = asyncio.Event()
        self.pings = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.client.stream("GET", self.url, headers=headers, timeout=None) as response:
            lines: list[str] = []
            async for line in response.aiter_lines():
                lines.append(line)
                if line and not line.startswith(":"):
                    continue
                now = time.monotonic()
                for m in messages(lines):
                    if m.comment == "ping":
                        self.pings += 1
                    elif m.event == "ready":
                        self.ready.set()
                    elif isinstance(m.data, dict) and m.data.get("case_id") and m.event:
                        self.first.setdefault((m.event, m.data["case_id"]), now)
                lines = []

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _ms(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p99_ms": round(percentile(values, 99), 1),
    }


async def submission_to_stream(stack: Stack, rate: float, seconds: float) -> dict[str, Any]:
    """(a): the dispatcher's two streams while cases arrive at `rate`."""
    keys = stack.run_dir / "keys"
    dispatcher = issue_token(keys, role="dispatcher")
    clerk = issue_token(keys, role="reception_clerk")
    count = int(rate * seconds)
    bodies = [body for _, body in CaseMix().bodies(count)]
    sent: dict[str, float] = {}
    on_bus: dict[str, float] = {}  # when dispatch.case.assigned of each case was on NATS
    nc = await nats.connect(**stack.nats_options("ops"))  # type: ignore[arg-type]

    async def assigned(msg: Any) -> None:
        on_bus.setdefault(json.loads(msg.data)["data"]["case_id"], time.monotonic())

    await nc.subscribe(subjects.CASE_ASSIGNED, cb=assigned)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        worklist = Watch(client, f"{stack.url('supervision')}/v1/streams/worklist", dispatcher)
        queue = Watch(client, f"{stack.url('routing')}/v1/streams/queue", dispatcher)
        await asyncio.wait_for(asyncio.gather(worklist.ready.wait(), queue.ready.wait()), 30)
        start = time.monotonic()

        async def send(i: int, body: dict[str, Any]) -> None:
            at = start + i / rate
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            r = await client.post(
                f"{stack.url('intake')}/v1/cases",
                json=body,
                headers={"Authorization": f"Bearer {clerk}", "Idempotency-Key": f"live-{i}"},
            )
            if r.status_code == 201 and r.json().get("status") == "accepted":
                sent[r.json()["case_id"]] = at

        await asyncio.gather(*(send(i, b) for i, b in enumerate(bodies)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            told = {c for (_, c) in worklist.first} | {c for (n, c) in queue.first if n == "entered"}
            if set(sent) <= told:
                break
            await asyncio.sleep(0.2)
        await worklist.close()
        await queue.close()
        # a report against officials (routing may decide one) is never on a dispatcher's streams
        supervisor = {"Authorization": f"Bearer {issue_token(keys, role='supervisor')}"}
        confidential = set()
        for case_id in set(sent) - {c for (_, c) in worklist.first} - {c for (_, c) in queue.first}:
            file = await client.get(f"{stack.url('supervision')}/v1/cases/{case_id}", headers=supervisor)
            if file.status_code == 200 and file.json().get("confidential"):
                confidential.add(case_id)
    await nc.close()
    assigned = [worklist.first[("case", c)] - t for c, t in sent.items() if ("case", c) in worklist.first]
    bus = [on_bus[c] - t for c, t in sent.items() if c in on_bus]
    hop = [
        worklist.first[("case", c)] - on_bus[c] for c in sent if c in on_bus and ("case", c) in worklist.first
    ]
    manual = [queue.first[("entered", c)] - t for c, t in sent.items() if ("entered", c) in queue.first]
    told = {c for (_, c) in worklist.first} | {c for (n, c) in queue.first if n == "entered"}
    return {
        "rate": rate,
        "seconds": seconds,
        "accepted": len(sent),
        "confidential": len(confidential),
        "never_told": len(set(sent) - told - confidential),
        "assigned_on_nats": _ms([v * 1000 for v in bus]),
        "worklist_case": _ms([v * 1000 for v in assigned]),
        "nats_to_worklist_case": _ms([v * 1000 for v in hop]),
        "queue_entered": _ms([v * 1000 for v in manual]),
    }


async def idle_connections(stack: Stack, connections: int, hold: float) -> dict[str, Any]:
    """(b): `connections` idle readers of one supervision process, and its memory."""
    pid = stack.procs["supervision"].popen.pid  # type: ignore[union-attr]
    unit = json.loads((DEFAULT_COUNTY_DIR / "units.json").read_text(encoding="utf-8"))[0]["code"]
    token = issue_token(stack.run_dir / "keys", role="unit_handler", unit=unit)
    before = _memory_mb(pid)
    limits = httpx.Limits(max_connections=connections + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0, read=None)) as client:
        url = f"{stack.url('supervision')}/v1/streams/worklist"
        watches = []
        opened = time.monotonic()
        for _ in range(connections):
            watches.append(Watch(client, url, token))
        await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watches)), 120)
        registered = time.monotonic() - opened
        await asyncio.sleep(hold)
        after = _memory_mb(pid)
        alive = sum(1 for w in watches if not w.task.done())
        pinged = sum(1 for w in watches if w.pings > 0)
        for w in watches:
            await w.close()
    rss = round(after["rss_mb"] - before["rss_mb"], 1)
    return {
        "connections": connections,
        "registered_in_s": round(registered, 2),
        "held_s": hold,
        "still_open": alive,
        "received_a_heartbeat": pinged,
        "rss_mb_before": before["rss_mb"],
        "rss_mb_after": after["rss_mb"],
        "rss_kb_per_connection": round(rss * 1024 / connections, 1) if connections else None,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        stack = Stack(run_dir=Path(tmp), ports={s: free_port() for s in SERVICES}, extra_env=ENV)
        try:
            stack.start()
            latency = await submission_to_stream(stack, args.rate, args.seconds)
            idle = await idle_connections(stack, args.connections, args.hold)
        finally:
            stack.stop()
    return {"submission_to_stream": latency, "idle_connections": idle}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=10.0, help="cases per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--hold", type=float, default=12.0, help="seconds the idle connections are held")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "live_streams.json")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    a, b = result["submission_to_stream"], result["idle_connections"]
    print(
        f"cases accepted {a['accepted']} at {a['rate']}/s for {a['seconds']} s ({a['confidential']} "
        f"confidential reports, which a dispatcher's streams leave out); never told {a['never_told']}"
    )
    for name in ("assigned_on_nats", "worklist_case", "nats_to_worklist_case", "queue_entered"):
        print(f"  {name}: n={a[name]['n']} p50={a[name]['p50_ms']} ms p99={a[name]['p99_ms']} ms")
    print(
        f"idle: {b['connections']} connections registered in {b['registered_in_s']} s, "
        f"{b['still_open']} open after {b['held_s']} s ({b['received_a_heartbeat']} with a heartbeat); "
        f"supervision RSS {b['rss_mb_before']} -> {b['rss_mb_after']} MB "
        f"({b['rss_kb_per_connection']} KB per connection)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
