"""`make run`: the whole platform in the foreground until Ctrl-C or SIGTERM."""

import os
import signal
import sys
import threading
from pathlib import Path

from devtools.stack import DEFAULT_CONSOLE_PORT, DEFAULT_PORTS, SERVICES, Stack
from dispatch_common.county import county_code, county_name
from dispatch_common.paths import DEFAULT_COUNTY_DIR, DEFAULT_RUN_DIR
from dispatch_common.redact import scrub


def main() -> int:
    """Start everything, print where it is, wait for a signal, stop everything."""
    run_dir = Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR)).resolve()
    ports = {s: int(os.environ.get(f"{s.upper()}_PORT", DEFAULT_PORTS[s])) for s in SERVICES}
    stack = Stack(
        run_dir=run_dir,
        ports=ports,
        nats_url=os.environ.get("NATS_URL") or None,
        mongodb_url=os.environ.get("MONGODB_URL") or None,
        console_port=int(os.environ.get("CONSOLE_PORT", DEFAULT_CONSOLE_PORT)),
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print(f"starting the platform in {run_dir} ...", flush=True)
        stack.start()
        county_dir = Path(os.environ.get("COUNTY_DIR", DEFAULT_COUNTY_DIR))
        print(
            f"\nthe platform is ready, with the county package {county_name(county_dir)} "
            f"({county_code(county_dir)}) from {county_dir}:",
            flush=True,
        )
        print("\n".join(addresses(stack)))
        if stack.own_nats:
            conf = run_dir / "jetstream.conf"
            print(f"  {'':<13}NATS users and permissions in {conf} (generated at each start),")
            print(f"  {'':<13}seeds in {stack.keys_dir / 'nats'}; operators connect as ops (ops.nk)")
        print(f"\nlogs in {stack.log_dir}, traces in {run_dir / 'traces'}")
        print("a token:  make token ROLE=dispatcher UNIT=<unit code>")
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(1.0):
            dead = [p.name for p in stack.procs.values() if not p.alive]
            if dead:
                print(f"stopped unexpectedly: {', '.join(dead)}; see {stack.log_dir}", file=sys.stderr)
                return 1
        return 0
    except Exception as exc:
        print(f"could not start the platform: {scrub(str(exc))}", file=sys.stderr)
        return 1
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)


def addresses(stack: Stack) -> list[str]:
    """Where the servers and services are; a URL given with credentials is shown without them."""
    lines = [
        f"  {name:<13}{scrub(url or '')}"
        for name, url in (("NATS", stack.nats_url), ("MongoDB", stack.mongodb_url))
    ]
    lines += [f"  {s:<13}{stack.url(s)}   (API docs {stack.url(s)}/docs)" for s in SERVICES]
    if stack.console_url:
        lines.append(
            f"  {'console':<13}{stack.console_url}   (the dispatch center's console: sign in as a role)"
        )
    lines.append(
        f"  {'progress':<13}{stack.url('supervision')}/progress/   "
        "(the petitioner's progress page: case number and lookup code)"
    )
    return lines


if __name__ == "__main__":
    sys.exit(main())
