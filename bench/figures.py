"""The latency figures every benchmark prints."""

import asyncio
import os
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common.store import connect


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def latency_figures(milliseconds: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of latencies in milliseconds, rounded to hundredths."""
    return {
        **{f"p{p}_ms": round(percentile(milliseconds, p), 2) for p in (50, 95, 99)},
        "max_ms": round(max(milliseconds), 2),
    }


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds a process has used so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def on_mongodb(
    run: Callable[[str], Awaitable[dict[str, Any]]], url: str | None, *, prefix: str
) -> dict[str, Any]:
    """Run a benchmark against `url`, or against the embedded MongoDB server started on a free port
    in a temporary folder and stopped (and the folder deleted) at the end; the figures name the server."""
    from devtools.stack import _wait_port, free_port, mongo_server

    if url:
        result = asyncio.run(run(url))
    else:
        base = Path(tempfile.mkdtemp(prefix=prefix))
        port = free_port()
        proc = mongo_server(port=port, data_dir=base / "mongo", log_dir=base / "logs")
        proc.start()
        try:
            _wait_port(port, 30, proc.popen, proc.name)  # type: ignore[arg-type]
            result = asyncio.run(run(f"mongodb://127.0.0.1:{port}/?directConnection=true"))
        finally:
            proc.stop()
            shutil.rmtree(base, ignore_errors=True)
    result["server"] = "external" if url else "embedded nx-27017"
    return result


@asynccontextmanager
async def scratch_database(
    url: str, *, app_name: str, prefix: str, drop: bool
) -> AsyncIterator[AsyncDatabase]:
    """A database of a fresh name on `url` for one benchmark run; dropped at the end when `drop` (a
    server the benchmark did not start: the embedded one is deleted whole by `on_mongodb`)."""
    client = connect(url, app_name=app_name)
    name = f"{prefix}_{random.getrandbits(32):08x}"
    try:
        yield client[name]
    finally:
        if drop:
            await client.drop_database(name)
        await client.close()
