"""`make bench`: every benchmark of the platform, one after the other, each printing its figures.

Figures, never pass/fail: the targets are in the docs and the closing notes quote these numbers.
"""

import argparse
import subprocess
import sys

BENCHMARKS = {
    "e2e_load": ["--rates", "10,20,25,50,100", "--seconds", "60"],
    "unit_costs": ["--n", "2000"],  # after e2e_load: the floor of the case it measured
    "intake_load": ["--rate", "200", "--seconds", "30"],
    "duplicate_lookup": ["--cases", "1000000"],
    "profile_lookup": ["--cases", "1000000", "--checkpoints", "250000,500000"],
    "routing_decide": ["--decisions", "20000", "--lookups", "500000"],
    "supervision_queries": ["--cases", "1000000"],
    "notify_load": ["--rate", "100", "--seconds", "20", "--burst", "2000"],
    "adversarial_input": ["--per-family", "4", "--candidates", "200"],
    "live_streams": ["--rate", "10", "--seconds", "30", "--connections", "500"],
    "console_load": ["--loads", "10"],
    "progress_lookup": ["--cases", "20", "--lookups", "200", "--guesses", "200"],
    "replay": ["--cases", "300000"],
    "screening_replay": ["--cases", "10000"],
}


def main() -> int:
    """Run the named benchmarks (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    args = parser.parse_args()
    quick = {
        "e2e_load": ["--rates", "5", "--seconds", "5"],
        "unit_costs": ["--n", "100"],
        "intake_load": ["--rate", "50", "--seconds", "5"],
        "duplicate_lookup": ["--cases", "20000"],
        "profile_lookup": ["--cases", "5000", "--checkpoints", "", "--lookups", "100"],
        "notify_load": ["--rate", "50", "--seconds", "3", "--burst", "200"],
        "routing_decide": ["--decisions", "1000", "--warmup", "100", "--lookups", "20000"],
        "supervision_queries": ["--cases", "20000"],
        "live_streams": ["--rate", "5", "--seconds", "4", "--connections", "50", "--hold", "6"],
        "adversarial_input": [
            "--per-family",
            "1",
            "--candidates",
            "20",
            "--repeat",
            "1",
            "--loop-rounds",
            "2",
        ],
        "console_load": ["--loads", "2"],
        "progress_lookup": ["--cases", "3", "--lookups", "20", "--guesses", "40"],
        "replay": ["--cases", "2000"],
        "screening_replay": ["--cases", "1000"],
    }
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    status = 0
    for name in args.names or list(BENCHMARKS):
        argv = quick[name] if args.quick else BENCHMARKS[name]
        print(f"== {name} {' '.join(argv)}", flush=True)
        status |= subprocess.call([sys.executable, "-m", f"bench.{name}", *argv])
    return status


if __name__ == "__main__":
    sys.exit(main())
