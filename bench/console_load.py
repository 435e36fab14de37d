"""The console's first load: bytes and time until the sign-in form is usable, in headless Chromium.

Starts the console server alone on a free port of 127.0.0.1 (the first screen needs no service: the
page, its modules, the stylesheet, /config.json, /geography.geojson and /units.json), loads it in a
fresh browser context each time (a cold cache) and once more in the same context (a warm cache,
revalidated). Figures, never pass/fail.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from devtools.chromium import CHROMIUM, FLAGS
from devtools.stack import Proc, free_port, wait_ready

SIZES = "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
COUNT = f"""() => {{ const e = {SIZES};
  return {{ requests: e.length, transferred: e.reduce((n, x) => n + x.transferSize, 0),
           body: e.reduce((n, x) => n + x.decodedBodySize, 0) }}; }}"""


def main() -> int:
    """Load the console `--loads` times cold and once warm; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix="console-bench-"))
    env = {"PORT": str(port), "RUN_DIR": str(run_dir), "ENVIRONMENT": "development"}
    proc = Proc("console", [sys.executable, "-m", "console"], run_dir / "console.log", env=os.environ | env)
    proc.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/readyz", timeout=30, proc=proc)
        cold: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for _ in range(args.loads):
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("#dev-sign-in")
                cold.append((time.perf_counter() - started) * 1000)
                sizes = page.evaluate(COUNT)
                started = time.perf_counter()
                page.reload()
                page.wait_for_selector("#dev-sign-in")
                warm = (time.perf_counter() - started) * 1000
                warm_sizes = page.evaluate(COUNT)
                context.close()
            browser.close()
        print(f"console first load, {args.loads} cold loads (fresh context each) on 127.0.0.1:")
        print(f"  requests {sizes['requests']}, bytes transferred {sizes['transferred']:,}, ")
        print(f"  bodies {sizes['body']:,} bytes (no compression: the ingress may gzip)")
        print(f"  until the sign-in form: p50 {statistics.median(cold):.0f} ms, max {max(cold):.0f} ms")
        print(f"  warm reload (revalidated): {warm:.0f} ms, {warm_sizes['transferred']:,} bytes transferred")
        return 0
    finally:
        proc.stop()


if __name__ == "__main__":
    sys.exit(main())
