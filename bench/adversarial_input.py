"""Adversarial input: CPU per text of routing's decision and intake's registration path, on the worst
5,000-character texts the county's own vocabulary makes (bench/adversarial_texts.py).

    .venv/bin/python -m bench.adversarial_input [--per-family 4] [--candidates 200] [--county-dir DIR]

Routing: `RoutingEngine.decide` of each text with no coordinates and no address (so the text is also
searched for place names), with a model learned from the labelled dev cases when they are enough.
Intake: screening, the new case's fingerprint, the stored candidates rebuilt from their tokens and
compared (`links_from_documents`, as the history adapter does on every lookup). The candidates are
`--candidates` earlier cases of the same petitioner and as many reports of other people at the same
place, all adversarial texts (a lookup returns at most the policy's max_candidates of each).
Each text is measured in CPU time (median of `--repeat` runs, warm). Target: max <= 50 ms for both.

Loop: how late a 1 ms timer on the event loop fires while the worst text is decided in a thread
(asyncio.to_thread, as the services do), and while it is decided on the loop itself.

Prints the figures as JSON on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.adversarial_texts import TEXT_CHARS, Vocabulary, families
from bench.figures import latency_figures
from bench.routing_decide import read_cases
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.intake.adapters.history import CaseHistory, links_from_documents
from services.intake.domain.duplicates import CaseSnapshot, DuplicatePolicy, Links
from services.intake.domain.screening import Screener, ScreeningInput, ScreeningRules
from services.routing.domain.learned import Example
from services.routing.domain.models import RouteRequest
from services.routing.engine import RoutingEngine

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PLACE = (111.8, 40.9)
PETITIONER = "the-same-petitioner"


def cpu_ms(run: Callable[[], object], repeat: int) -> float:
    """The median CPU milliseconds of `repeat` runs."""
    spent = []
    for _ in range(repeat):
        t = time.process_time()
        run()
        spent.append((time.process_time() - t) * 1000)
    return statistics.median(spent)


def engine_for(county_dir: Path) -> RoutingEngine:
    """The county's engine, with the model learned from the labelled texts when they are enough."""
    engine = RoutingEngine.from_dir(county_dir)
    cases = [c for c in read_cases(county_dir) if c.get("expect", {}).get("category")]
    examples = [Example(c["text"], c["expect"]["category"], c["expect"].get("subcategory")) for c in cases]
    return engine.train(examples)


class IntakePath:
    """Intake's registration work for one text, in process: screening, fingerprint, links."""

    def __init__(self, texts: list[str], candidates: int) -> None:
        self.screener = Screener(
            ScreeningRules.from_file(
                DATA_DIR / "intake" / "screening_rules.json", DATA_DIR / "intake" / "knowledge_base.json"
            )
        )
        self.policy = DuplicatePolicy.load()
        self.docs = {  # the petitioner's earlier cases, and other people's reports at the place
            kind: [
                CaseHistory.document(
                    self.snapshot(f"{kind}-{i}", texts[i % len(texts)], minutes=i + 1, who=who or f"p{i}"),
                    Links(),
                )
                for i in range(candidates)
            ]
            for kind, who in (("repeat", PETITIONER), ("incident", None))
        }

    def snapshot(self, case_id: str, text: str, minutes: int = 0, who: str = "") -> CaseSnapshot:
        return CaseSnapshot.build(
            case_id=case_id,
            case_no=case_id,
            received_at=NOW - timedelta(minutes=minutes),
            text=text,
            policy=self.policy,
            petitioner_hash=who or PETITIONER,
            lon=PLACE[0],
            lat=PLACE[1],
        )

    def register(self, text: str) -> None:
        """What registration computes for a text, besides the database round trips."""
        self.screener.screen(ScreeningInput(channel="hotline_12345", text=text, has_location=True))
        new = self.snapshot("new", text)
        links_from_documents(new, self.docs["repeat"], self.docs["incident"], self.policy)


async def loop_lag(work: Callable[[], object], rounds: int, *, threaded: bool) -> dict[str, float]:
    """How late a 1 ms timer fires on the loop while `work` runs `rounds` times (in a thread or not)."""
    lags: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - t) * 1000 - 1)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    for _ in range(rounds):
        if threaded:
            await asyncio.to_thread(work)
        else:
            work()
            await asyncio.sleep(0)
    done.set()
    await ticker
    return latency_figures(lags)


def measure(
    named: list[tuple[str, str]], run: Callable[[str], object], repeat: int
) -> tuple[dict[str, Any], str]:
    """Figures over the texts, the worst family, and the worst text."""
    spent = [(cpu_ms(lambda t=text: run(t), repeat), name, text) for name, text in named]
    worst = max(spent)
    by_family: dict[str, float] = {}
    for ms, name, _ in spent:
        family = name.split(":")[0]
        by_family[family] = round(max(ms, by_family.get(family, 0.0)), 2)
    figures = {
        **latency_figures([ms for ms, _, _ in spent]),
        "worst_text": worst[1],
        "max_ms_by_family": by_family,
        "target_max_ms": 50,
    }
    return figures, worst[2]


def main() -> int:
    """Build the texts, measure both services and the loop, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--county-dir", type=Path, default=DEFAULT_COUNTY_DIR)
    parser.add_argument("--per-family", type=int, default=4, help="texts of each family")
    parser.add_argument("--candidates", type=int, default=200, help="stored cases a lookup compares with")
    parser.add_argument("--repeat", type=int, default=3, help="runs per text (the median counts)")
    parser.add_argument("--loop-rounds", type=int, default=20, help="decisions while the loop is watched")
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()

    engine = engine_for(args.county_dir)
    vocab = Vocabulary.of(engine.package, IntakePath([], 0).screener.rules)
    named = families(vocab, random.Random(args.seed), args.per_family)
    print(f"{len(named)} texts of {TEXT_CHARS} characters", file=sys.stderr, flush=True)
    intake = IntakePath([text for _, text in named], args.candidates)

    def decide(text: str) -> object:
        return engine.decide(RouteRequest(channel="hotline_12345", text=text))

    for case in read_cases(args.county_dir)[:50]:  # warm-up
        decide(case["text"])
        intake.register(case["text"])
    gc.collect()
    gc.freeze()  # as a service does once started (dispatch_common/http.py): start-up objects stay out
    routing, worst_route = measure(named, decide, args.repeat)
    print(f"routing: max {routing['max_ms']} ms", file=sys.stderr, flush=True)
    registration, worst_intake = measure(named, intake.register, args.repeat)
    print(f"intake: max {registration['max_ms']} ms", file=sys.stderr, flush=True)
    rounds = args.loop_rounds
    loop = {
        "routing_in_thread": asyncio.run(loop_lag(lambda: decide(worst_route), rounds, threaded=True)),
        "routing_on_loop": asyncio.run(loop_lag(lambda: decide(worst_route), rounds, threaded=False)),
        "intake_in_thread": asyncio.run(
            loop_lag(lambda: intake.register(worst_intake), rounds, threaded=True)
        ),
    }
    result = {
        "benchmark": "adversarial_input",
        "county": engine.package.county_code,
        "texts": len(named),
        "text_chars": TEXT_CHARS,
        "learned_model": engine.learned is not None,
        "candidates": args.candidates,
        "routing_cpu_ms": routing,
        "intake_cpu_ms": registration,
        "loop_lag_ms": loop,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
