"""The supervision service in process on a test's real servers, driven over HTTP as its callers would,
with case files brought to a state as the consumers would leave them (tests/supervision_cases.py)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dispatch_common.clock import FixedClock
from services.supervision.bootstrap import build, create
from services.supervision.config import SupervisionSettings
from services.supervision.container import Supervision
from tests.helpers import FAST_CONSUMERS, MONDAY, api_client, nats_identity


@dataclass
class SupervisionHarness:
    """A started supervision service, its clock, and HTTP clients for it."""

    sv: Supervision
    clock: FixedClock
    client: Callable[..., httpx.AsyncClient]
    app: Any = None  # the HTTP app, for a test's own clients (tests/integration/test_ledger.py)
    keys_dir: Path | None = None


async def start_supervision(
    *, nats_url: str, mongodb_url: str, db_prefix: str, run_dir: Path, **overrides: Any
) -> SupervisionHarness:
    """Build and start supervision with fast retries; the caller stops its runtime."""
    values: dict[str, Any] = FAST_CONSUMERS | {
        "nats_url": nats_url,
        "mongodb_url": mongodb_url,
        "mongodb_db_prefix": db_prefix,
        "run_dir": run_dir,
        **nats_identity(run_dir, "supervision"),
    }
    clock = FixedClock(MONDAY)
    sv = build(SupervisionSettings(**(values | overrides)), clock=clock)
    app = create(sv=sv)
    await sv.runtime.start()

    def client(role: str, unit: str | None = None) -> httpx.AsyncClient:
        return api_client(app, run_dir / "keys", base_url="http://supervision", role=role, unit=unit)

    return SupervisionHarness(sv, clock, client, app, run_dir / "keys")
