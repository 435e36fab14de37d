"""The latency figures every benchmark prints."""


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
