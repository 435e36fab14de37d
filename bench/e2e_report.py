"""The end-to-end benchmark's figures from what it observed, and the table it prints."""

from collections import defaultdict
from typing import Any

from bench.e2e_observe import Watcher
from bench.figures import latency_figures
from bench.http_driver import OpenLoopDriver
from bench.store_ceiling import store_bound_rate
from dispatch_common import subjects


def _role(process: str) -> str:
    return process.split("#")[0]  # replicas of a service count together


def _delays(scheduled: dict[int, float], created: dict[int, str], seen: dict[str, float]) -> list[float]:
    return [(seen[case] - scheduled[i]) * 1000 for i, case in created.items() if case in seen]


def _per_case(total: float, cases: int) -> float:
    return round(total / cases, 2) if cases else 0.0


def figures(
    *,
    rate: float,
    load_seconds: float,
    driver: OpenLoopDriver,
    created: dict[int, str],
    started: float,
    watcher: Watcher,
    drain: tuple[float | None, int],
    bus: tuple[dict[str, Any], dict[str, Any]],
    procs: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]],
    idle: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], float],
    driver_cpu_s: float,
    ceiling: dict[str, float],
    replicas: int,
    store_ms_per_op: float | None = None,
) -> dict[str, Any]:
    """Everything one rate's run reports (see bench/e2e_load.py)."""
    cases = len(created)
    scheduled = {i: started + i / rate for i in created}
    assigned = _delays(scheduled, created, watcher.assigned)
    noticed = _delays(scheduled, created, watcher.accepted_notice)
    drain_seconds, lag_left = drain
    before_procs, after_procs = procs
    cpu: dict[str, float] = defaultdict(float)
    commands: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    memory: dict[str, dict[str, float]] = {}
    applied: dict[str, int] = {}  # events each process's consumers applied: replicas share the work
    for name, after in after_procs.items():
        before = before_procs.get(name, {})
        cpu[_role(name)] += (after["cpu_s"] - before.get("cpu_s", 0.0)) * 1000
        memory[name] = {"rss_mb": after["rss_mb"], "peak_rss_mb": after["peak_rss_mb"]}
        if "applied" in after:
            applied[name] = int(after["applied"] - before.get("applied", 0.0))
        for command, count in (after.get("mongodb") or {}).items():
            commands[_role(name)][command] += count - (before.get("mongodb") or {}).get(command, 0.0)
    idle_from, idle_to, idle_seconds = idle
    idle_ms_per_s: dict[str, float] = defaultdict(float)  # the platform's fixed cost: timers, polls, sweeps
    for name, after in idle_to.items():
        used = after["cpu_s"] - idle_from.get(name, {}).get("cpu_s", 0.0)
        idle_ms_per_s[_role(name)] += used * 1000 / idle_seconds
    busy_seconds = load_seconds + (drain_seconds or 0.0)
    by_command: dict[str, float] = defaultdict(float)
    for per_service in commands.values():
        for key, count in per_service.items():
            by_command[key.split(" ")[0]] += count  # the store's ceiling is measured per command
    before_bus, after_bus = bus
    published = {
        name: after_bus["streams"][name] - before_bus["streams"].get(name, 0) for name in after_bus["streams"]
    }
    by_consumer = {
        name: n - before_bus["delivered"].get(name, 0) for name, n in sorted(after_bus["delivered"].items())
    }
    deliveries = sum(by_consumer.values())
    store_bound = store_bound_rate({c: n / cases for c, n in by_command.items()}, ceiling) if cases else None
    achieved = (
        round(cases / (load_seconds + drain_seconds), 1) if drain_seconds is not None and cases else None
    )
    return {
        "offered_per_s": rate,
        "replicas": replicas,
        "seconds": round(load_seconds, 1),
        "requests": len(driver.latencies),
        "accepted": cases,
        "accepted_per_s": round(cases / load_seconds, 1),
        "statuses": dict(driver.outcomes),
        "intake_ms": latency_figures(driver.latencies),
        "assigned": len(assigned),
        "submit_to_assigned_ms": latency_figures(assigned) if assigned else None,
        "acceptance_notices": len(noticed),
        "submit_to_acceptance_notice_ms": latency_figures(noticed) if noticed else None,
        "drain_s": drain_seconds,
        "lag_left": lag_left,
        "cpu_ms_per_case": {name: _per_case(ms, cases) for name, ms in sorted(cpu.items())},
        "cpu_ms_per_case_total": _per_case(sum(cpu.values()), cases),
        "driver_cpu_ms_per_case": _per_case(driver_cpu_s * 1000, cases),
        "idle_cpu_ms_per_s": {name: round(ms, 1) for name, ms in sorted(idle_ms_per_s.items())},
        "idle_cpu_ms_per_s_total": round(sum(idle_ms_per_s.values()), 1),
        # what one more case costs: the CPU of the run less what the platform burns idle in that time
        "marginal_cpu_ms_per_case_total": _per_case(
            sum(cpu.values()) - sum(idle_ms_per_s.values()) * busy_seconds, cases
        ),
        "mongodb_commands_per_case": {
            service: {
                "total": _per_case(sum(per.values()), cases),
                **{c: _per_case(n, cases) for c, n in sorted(per.items(), key=lambda kv: -kv[1]) if n},
            }
            for service, per in sorted(commands.items())
        },
        "mongodb_commands_per_case_total": _per_case(sum(by_command.values()), cases),
        "jetstream_messages_per_case": _per_case(
            sum(n for s, n in published.items() if s != subjects.DLQ_STREAM), cases
        ),
        "jetstream_deliveries_per_case": _per_case(deliveries, cases),
        # which consumer takes what: one that takes events it does nothing with shows here
        "jetstream_deliveries_per_case_by_consumer": {
            name: _per_case(n, cases) for name, n in by_consumer.items() if n
        },
        "dead_letters": published.get(subjects.DLQ_STREAM, 0),
        "duplicated_effects": watcher.duplicated(),
        "republished": watcher.republished(),
        "events_applied_per_process": applied,
        "memory_mb": memory,
        "store_ceiling_ops_per_s": ceiling,
        "store_cpu_ms_per_op": store_ms_per_op,
        "store_bound_cases_per_s": store_bound,
        "achieved_cases_per_s": achieved,
        "achieved_to_store_bound": round(achieved / store_bound, 2) if achieved and store_bound else None,
    }


def _ms(figure: dict[str, float] | None, key: str) -> str:
    return f"{figure[key]:.0f}" if figure else "-"


def print_table(runs: list[dict[str, Any]]) -> None:
    """The summary, then CPU and MongoDB commands per case by process."""
    print()
    print(
        "| offered | accepted | intake p50/p99 ms | submit→assigned p50/p99 ms | submit→notice p50/p99 ms "
        "| drain s | CPU ms/case | idle CPU ms/s | marginal CPU ms/case | Mongo cmds/case | JS msgs/case "
        "| store-bound cases/s | achieved/bound |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        a, n, i = r["submit_to_assigned_ms"], r["submit_to_acceptance_notice_ms"], r["intake_ms"]
        drain = f"{r['drain_s']}" if r["drain_s"] is not None else f"not drained ({r['lag_left']} left)"
        print(
            f"| {r['offered_per_s']:g}/s | {r['accepted_per_s']}/s | {_ms(i, 'p50_ms')} / {_ms(i, 'p99_ms')} "
            f"| {_ms(a, 'p50_ms')} / {_ms(a, 'p99_ms')} | {_ms(n, 'p50_ms')} / {_ms(n, 'p99_ms')} | {drain} "
            f"| {r['cpu_ms_per_case_total']} | {r['idle_cpu_ms_per_s_total']} "
            f"| {r['marginal_cpu_ms_per_case_total']} | {r['mongodb_commands_per_case_total']} "
            f"| {r['jetstream_messages_per_case']} | {r['store_bound_cases_per_s']} "
            f"| {r['achieved_to_store_bound']} |"
        )
    for r in runs:
        if r.get("store_cpu_ms_per_op") is not None:
            store_ms = r["cpu_ms_per_case"].get("nx-27017", 0.0)
            commands = r["mongodb_commands_per_case_total"] or 1
            print(
                f"store at {r['offered_per_s']:g}/s: {r['store_cpu_ms_per_op']} ms CPU per operation at its "
                f"ceiling, {store_ms / commands:.2f} ms per command of the run"
            )
    names = sorted({name for r in runs for name in r["cpu_ms_per_case"]})
    print("\nCPU ms per case by process (the load driver's own apart):")
    print("| offered | " + " | ".join(names) + " | driver |")
    print("|---" * (len(names) + 2) + "|")
    for r in runs:
        cells = " | ".join(str(r["cpu_ms_per_case"].get(n, "-")) for n in names)
        print(f"| {r['offered_per_s']:g}/s | {cells} | {r['driver_cpu_ms_per_case']} |")
    services = sorted({s for r in runs for s in r["mongodb_commands_per_case"]})
    print("\nMongoDB commands per case by service:")
    print("| offered | " + " | ".join(services) + " |")
    print("|---" * (len(services) + 1) + "|")
    for r in runs:
        cells = " | ".join(str(r["mongodb_commands_per_case"].get(s, {}).get("total", "-")) for s in services)
        print(f"| {r['offered_per_s']:g}/s | {cells} |")
    print("\nGuarantees (cases with an effect applied twice; one event published again; dead letters):")
    for r in runs:
        twice = ", ".join(f"{k} {v}" for k, v in r["duplicated_effects"].items())
        again = ", ".join(f"{k} {v}" for k, v in r.get("republished", {}).items())
        dead = r["dead_letters"]
        print(f"| {r['offered_per_s']:g}/s | twice: {twice} | republished: {again} | dead letters {dead} |")
