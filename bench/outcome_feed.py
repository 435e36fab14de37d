"""The outcome feed: events per case and their delay after the change they report, and a day's replay.

It starts the platform as `make run` does (a real nats-server, the embedded MongoDB server and the five
services, on free ports in a temporary folder), then:

1. **Delay.** As the 12345 platform (`hotline-12345`, its own NATS identity) it submits `--cases` cases
   over NATS, `--rate` a second, and reads its consumer `outcome-hotline-12345` meanwhile; as the county
   it works each case through to closing over HTTP (sign, progress, reply, follow-up, close). For every
   outcome event it notes when the system received it; the delay is that minus the event's `time`,
   which is when the change it reports happened (the registration, or supervision's action).
2. **Replay.** As operators it writes a day's outcomes of one system into its stream (`--day-cases`
   cases, the seven events of a full journey each, shaped as intake makes them), then as the system it
   creates a consumer of its own from the time before the day and reads and acknowledges every event,
   as an integrator replaying after a day offline would. It reports the time, the rate, the reader's
   memory (peak RSS growth) and the NATS server's.

Figures, not pass/fail. A table goes to stdout and JSON to --out (default .bench/outcome_feed.json).
"""

import argparse
import asyncio
import json
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from devtools.keys import issue_token, unit_area
from devtools.stack import SERVICES, Stack, free_port
from dispatch_common import subjects
from dispatch_common.envelope import make_event
from dispatch_common.paths import DEFAULT_COUNTY_DIR, REPO_ROOT

SYSTEM = "hotline-12345"
JOURNEY = ("received", "accepted", "assigned", "progressed", "replied", "rated", "closed")


def _rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Listener:
    """The 12345 platform reading its consumer, noting when each outcome came: in a thread with its own
    event loop, so that the county's side (signing tokens, HTTP calls) never delays the reading."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.got: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        self._thread.join(10)

    async def _run(self) -> None:
        nc = await nats.connect(**self.stack.nats_options(SYSTEM))
        js = nc.jetstream()
        durable, stream = subjects.outcome_durable(SYSTEM), subjects.outcome_stream(SYSTEM)
        sub = await js.pull_subscribe_bind(durable, stream=stream)
        try:
            while not self._stop.is_set():
                try:
                    msgs = await sub.fetch(64, timeout=0.5)
                except TimeoutError:
                    continue
                now = time.time()
                for msg in msgs:
                    self.got.append((now, json.loads(msg.data)))
                    await msg.ack()
        finally:
            await nc.close()

    def closed(self) -> int:
        return sum(1 for _, e in self.got if e["type"] == subjects.OUTCOME_CLOSED)


async def _submit(stack: Stack, texts: list[dict[str, Any]], rate: float) -> None:
    nc = await nats.connect(**stack.nats_options(SYSTEM))
    js = nc.jetstream()
    subject = subjects.ingress_subject(SYSTEM, subjects.INGRESS_CASE_SUBMIT)
    for i, sample in enumerate(texts):
        body = {k: sample[k] for k in ("text", "address", "lon", "lat") if sample.get(k) is not None}
        data = {
            "channel": "hotline_12345",
            **body,
            "external_ref": {"system": SYSTEM, "id": f"B-{uuid.uuid4().hex}"},
        }
        event = make_event(
            type=subjects.INGRESS_CASE_SUBMIT, source=f"/ingress/{SYSTEM}", subject=None, data=data
        )
        await js.publish(subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
        await asyncio.sleep(1 / rate if i + 1 < len(texts) else 0)
    await nc.close()


@cache
def _token(keys: Path, role: str, unit: str | None) -> str:
    area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
    return issue_token(keys, role=role, unit=unit, area=area)


async def _work(stack: Stack, http: httpx.AsyncClient, case_id: str) -> bool:
    """Sign, progress and reply as the lead unit; follow up and close as the hotline (False: routing
    left the case to a dispatcher, so it is not worked)."""
    keys = stack.run_dir / "keys"
    base = f"{stack.url('supervision')}/v1/cases/{case_id}"

    def auth(role: str, unit: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {_token(keys, role, unit)}"}

    dispatcher = auth("dispatcher")
    for _ in range(600):
        case = (await http.get(base, headers=dispatcher)).json()
        if case.get("status") in ("assigned", "manual_dispatch"):
            break
        await asyncio.sleep(0.1)
    if case.get("status") != "assigned":
        return False
    unit = auth("unit_handler", case["lead_unit"]["code"])
    for step, body in (
        ("sign", {}),
        ("progress", {"note": "已安排人员现场查看"}),
        ("reply", {"result": "resolved", "text": "已处理完毕。"}),
    ):
        (await http.post(f"{base}/{step}", json=body, headers=unit)).raise_for_status()
    (
        await http.post(f"{base}/followup", json={"rating": "satisfied"}, headers=auth("reception_clerk"))
    ).raise_for_status()
    (await http.post(f"{base}/close", json={}, headers=dispatcher)).raise_for_status()
    return True


def _case_ids(stack: Stack, want: int) -> list[str]:
    from pymongo import MongoClient

    cases = MongoClient(stack.mongodb_url)["dispatch_intake"]["cases"]
    for _ in range(600):
        found = [d["_id"] for d in cases.find({"feed": SYSTEM}, {"_id": 1})]
        if len(found) >= want:
            return found
        time.sleep(0.1)
    return found


async def measure_delay(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Events per case and their delay after the change, for a full journey of each case."""
    samples = [
        json.loads(line)
        for line in (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text().splitlines()
        if line.strip()
    ]
    routable = [s for s in samples if s["expect"].get("town") and not s["expect"]["flags"]]
    texts = [routable[i % len(routable)] for i in range(args.cases)]
    listener = Listener(stack)
    listener.start()
    await _submit(stack, texts, args.rate)
    ids = await asyncio.to_thread(_case_ids, stack, args.cases)
    async with httpx.AsyncClient(timeout=30.0) as http:
        worked = sum(await asyncio.gather(*(_work(stack, http, case_id) for case_id in ids)))
    for _ in range(1200):
        if listener.closed() >= worked:
            break
        await asyncio.sleep(0.1)
    listener.stop()
    per_case: dict[str, list[str]] = {}
    delays: dict[str, list[float]] = {}
    for received_at, event in listener.got:
        kind = event["type"].rsplit(".", 1)[1]
        per_case.setdefault(event["data"]["case_id"], []).append(kind)
        made = datetime.fromisoformat(event["time"]).timestamp()
        delays.setdefault(kind, []).append((received_at - made) * 1000)
    every = [d for values in delays.values() for d in values]
    complete = [k for k in per_case.values() if tuple(k) == JOURNEY]
    return {
        "cases": len(ids),
        "cases_worked_to_closing": worked,
        "cases_heard_whole_in_order": len(complete),
        "events_per_case": round(statistics.mean(len(k) for k in per_case.values()), 2) if per_case else 0,
        "delay_ms": {
            "p50": round(_quantile(every, 0.5), 1),
            "p99": round(_quantile(every, 0.99), 1),
            "max": round(max(every, default=0), 1),
        },
        "delay_ms_by_event": {
            k: {"p50": round(_quantile(v, 0.5), 1), "p99": round(_quantile(v, 0.99), 1)}
            for k, v in delays.items()
        },
    }


def _day_event(kind: str, n: int, at: datetime) -> dict[str, Any]:
    case_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"replay-{n}"))
    data: dict[str, Any] = {
        "case_id": case_id,
        "case_no": f"990102-2026-{n:06d}",
        "external_ref": {"system": SYSTEM, "id": f"D-{n}"},
        "status": kind,
        "at": at.isoformat(),
    }
    data |= {
        "received": {"submission_id": str(uuid.uuid4())},
        "accepted": {"screened_by": "rules"},
        "assigned": {
            "lead_unit": {"code": "990102-CGJ", "name": "县城市管理局"},
            "assisting_units": [],
            "due_at": at.isoformat(),
        },
        "progressed": {"note": "已安排人员现场查看，正在协调相关部门处理。"},
        "replied": {
            "result": "resolved",
            "text": "经核查，问题已处理完毕，感谢您的监督。如有疑问请联系承办单位。",
            "unit": {"code": "990102-CGJ", "name": "县城市管理局"},
        },
        "rated": {"rating": "satisfied"},
        "closed": {},
    }[kind]
    return make_event(
        type=f"outcome.case.{kind}", source="/dispatch/intake", subject=case_id, data=data
    ).to_document()


async def measure_replay(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """A day's outcomes of one system written into its stream, then read back by the system."""
    since = datetime.now(UTC)
    ops = await nats.connect(**stack.nats_options())
    js = ops.jetstream()
    written = 0
    for n in range(args.day_cases):
        for kind in JOURNEY:
            event = _day_event(kind, n, since)
            body = json.dumps(event, ensure_ascii=False).encode()
            await js.publish(
                subjects.outcome_subject(SYSTEM, event["type"]), body, headers={"Nats-Msg-Id": event["id"]}
            )
            written += 1
    await ops.close()
    server_pid = stack.procs["nats-server"].popen.pid  # type: ignore[union-attr]
    server_before, reader_before = (
        _rss_mb(server_pid),
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    nc = await nats.connect(**stack.nats_options(SYSTEM))
    js = nc.jetstream()
    stream = subjects.outcome_stream(SYSTEM)
    started = time.perf_counter()
    config = ConsumerConfig(
        name=f"replay-{uuid.uuid4().hex[:8]}",
        filter_subject=subjects.outcome_subjects(SYSTEM),
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=since.isoformat(),
        ack_policy=AckPolicy.EXPLICIT,
        inactive_threshold=120.0,
    )
    name = (await js.add_consumer(stream, config=config)).name
    sub = await js.pull_subscribe_bind(name, stream=stream)
    read, kinds = 0, set()
    while read < written:
        try:
            msgs = await sub.fetch(256, timeout=2.0)
        except TimeoutError:
            break
        for msg in msgs:
            kinds.add(json.loads(msg.data)["type"])
            await msg.ack()
            read += 1
    seconds = time.perf_counter() - started
    await js.delete_consumer(stream, name)
    await nc.close()
    return {
        "events_written": written,
        "events_read": read,
        "seconds": round(seconds, 2),
        "events_per_second": round(read / seconds) if seconds else 0,
        "reader_peak_rss_growth_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - reader_before, 1
        ),
        "nats_server_rss_mb": {"before": round(server_before, 1), "after": round(_rss_mb(server_pid), 1)},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="outcome-feed-"))
    stack = Stack(run_dir=tmp, ports={s: free_port() for s in SERVICES}, extra_env={"LOG_LEVEL": "WARNING"})
    try:
        await asyncio.to_thread(stack.start)
        delay = await measure_delay(stack, args)
        replay = await measure_replay(stack, args)
        return {"benchmark": "outcome_feed", "delay": delay, "replay": replay}
    finally:
        await asyncio.to_thread(stack.stop)
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    """Measure and print the figures; write them as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=50, help="cases worked through to closing")
    parser.add_argument("--rate", type=float, default=5.0, help="submissions per second")
    parser.add_argument(
        "--day-cases", type=int, default=2000, help="a day's cases of one system, for the replay"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: 5 cases, a day of 200")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".bench" / "outcome_feed.json")
    args = parser.parse_args()
    if args.quick:
        args.cases, args.day_cases = 5, 200
    figures = asyncio.run(run(args))
    delay, replay = figures["delay"], figures["replay"]
    d, rss = delay["delay_ms"], replay["nats_server_rss_mb"]
    rows = [
        (
            "cases submitted / assigned and worked to closing",
            f"{delay['cases']} / {delay['cases_worked_to_closing']}",
        ),
        ("cases heard whole, in order", delay["cases_heard_whole_in_order"]),
        ("outcome events per case", delay["events_per_case"]),
        ("delay after the change p50 / p99 / max ms", f"{d['p50']} / {d['p99']} / {d['max']}"),
        ("replay: events read / written", f"{replay['events_read']} / {replay['events_written']}"),
        ("replay: seconds (events/s)", f"{replay['seconds']} ({replay['events_per_second']})"),
        ("replay: reader peak RSS growth MB", replay["reader_peak_rss_growth_mb"]),
        ("replay: nats-server RSS MB before / after", f"{rss['before']} / {rss['after']}"),
    ]
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
