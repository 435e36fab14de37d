"""The latency figures every benchmark prints."""

import os
from pathlib import Path


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
