"""The petitioner's progress lookup: its latency and size, refusals that cannot be told apart by time,
and a bounded brute force on loopback refused by the rate limits (docs/progress.md).

Starts intake and supervision on 127.0.0.1 (their own NATS and MongoDB), registers `--cases` cases
and computes each one's code as intake derives it (the development keys), so every answer is known:
the right code opens (200), a wrong code and an unknown case are refused (404). Latency is measured
with the limits set out of reach; the brute force goes to a second supervision replica with the
default limits, one case guessed from rotating addresses, then one address trying many case numbers.
Figures, never pass/fail.
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devtools.keys import issue_token
from devtools.stack import Stack, free_port
from dispatch_common.crypto import load_pii_keys
from dispatch_common.lookup_code import grouped
from services.intake.domain import lookup
from services.supervision.config import SupervisionSettings

FAR = {"client": {"requests": 10**9, "window_seconds": 60}, "case": {"requests": 10**9, "window_seconds": 60}}
PAGE = ("", "progress.js", "progress.css")


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return (
        f"p50 {statistics.median(values):6.1f} ms  p95 {p95:6.1f} ms  mean {statistics.fmean(values):6.1f} ms"
    )


def _register(stack: Stack, cases: int) -> list[dict[str, str]]:
    token = issue_token(stack.run_dir / "keys", role="reception_clerk")
    keys = load_pii_keys(environment="test", keys_dir=stack.run_dir / "keys")
    out = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for n in range(cases):
            body = {
                "channel": "petition_letter",
                "text": f"小区门口路灯坏了，晚上很黑，第{n}次反映。",
                "address": "城关街道幸福锦绣家园",
                "petitioner": {"name": "测试人", "phone": f"1380000{n:04d}"},
            }
            r = client.post(f"{stack.url('intake')}/v1/cases", json=body)
            r.raise_for_status()
            case_id, case_no = r.json()["case_id"], r.json()["case_no"]
            out.append({"case_no": case_no, "code": grouped(lookup.derive(keys, case_id, 1))})
    return out


def _timed(client: httpx.Client, url: str, body: dict[str, str], expect: int) -> tuple[float, int]:
    started = time.perf_counter()
    r = client.post(url, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    assert r.status_code == expect, (r.status_code, r.text)
    return elapsed, len(r.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--lookups", type=int, default=200, help="per kind: right, wrong, unknown")
    parser.add_argument("--guesses", type=int, default=200, help="brute-force attempts per phase")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="progress-bench-"))
    env = {
        "ENVIRONMENT": "test",
        "RATE_LIMIT_ENABLED": "false",
        "PROGRESS_RATE_LIMITS": json.dumps(FAR),
        "LOG_LEVEL": "WARNING",
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    stack = Stack(run_dir=run_dir, ports={"intake": free_port(), "supervision": free_port()}, extra_env=env)
    try:
        stack.start(("intake", "supervision"))
        seeded = _register(stack, args.cases)
        url = f"{stack.url('supervision')}/v1/public/progress"
        with httpx.Client(timeout=30) as client:
            deadline = time.monotonic() + 60
            while client.post(url, json=seeded[-1]).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            rnd = random.Random(17)
            kinds = {
                "right code  ": (lambda: rnd.choice(seeded), 200),
                "wrong code  ": (lambda: rnd.choice(seeded) | {"code": "ABCD-EFGH"}, 404),
                "unknown case": (
                    lambda: {"case_no": f"990102-2026-9{rnd.randrange(10**5):05d}", "code": "ABCD-EFGH"},
                    404,
                ),
            }
            for _ in range(10):  # warm up
                for make, expect in kinds.values():
                    _timed(client, url, make(), expect)
            timings: dict[str, list[float]] = {k: [] for k in kinds}
            sizes: dict[str, int] = {}
            for _ in range(args.lookups):
                for name, (make, expect) in kinds.items():  # interleaved: the same load for each kind
                    elapsed, size = _timed(client, url, make(), expect)
                    timings[name].append(elapsed)
                    sizes[name] = size
            print(f"lookups on {args.cases} seeded cases, {args.lookups} of each kind, one client, loopback:")
            for name, values in timings.items():
                print(f"  {name}  {_ms(values)}  body {sizes[name]} B")
            gap = statistics.fmean(timings["wrong code  "]) - statistics.fmean(timings["unknown case"])
            print(f"  mean(wrong) - mean(unknown): {gap:+.2f} ms")
            page = {
                name or "index.html": len(client.get(f"{stack.url('supervision')}/progress/{name}").content)
                for name in PAGE
            }
            files = ", ".join(f"{k} {v} B" for k, v in page.items())
            print(f"page: {sum(page.values())} B in {len(page)} files ({files})")

            defaults = SupervisionSettings.model_fields["progress_rate_limits"].default_factory()
            limits = json.dumps({k: v.model_dump(exclude_none=True) for k, v in defaults.items()})
            stack.start_replica("supervision", 2, env={"PROGRESS_RATE_LIMITS": limits})
            print(f"brute force on a replica with the default limits {limits}:")
            limited = f"{stack.replica_urls['supervision'][-1]}/v1/public/progress"
            target = seeded[0]["case_no"]
            one_case = [
                client.post(
                    limited,
                    json={"case_no": target, "code": f"{n:08X}"[:8]},
                    headers={"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"},
                ).status_code
                for n in range(args.guesses)
            ]
            one_client = [
                client.post(
                    limited,
                    json={"case_no": f"990102-2026-8{n:05d}", "code": "ABCD-EFGH"},
                    headers={"X-Forwarded-For": "192.0.2.7"},
                ).status_code
                for n in range(args.guesses)
            ]
            for name, codes in (
                ("one case, a new address per guess", one_case),
                ("one address, a new case number per guess", one_client),
            ):
                checked, refused, opened = (codes.count(c) for c in (404, 429, 200))
                figures = f"{checked} checked, {refused} refused (429), {opened} opened"
                print(f"  {name}: {len(codes)} attempts, {figures}")
            chance = one_case.count(404) / 2**40
            print(f"  chance that the checked guesses on one case found its code this window: {chance:.1e}")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
