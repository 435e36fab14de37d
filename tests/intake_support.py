"""The intake service in process on a test's real servers, driven over HTTP as its callers would."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.intake.bootstrap import create as create_intake
from services.intake.config import IntakeSettings
from services.intake.container import Intake
from services.intake.domain.open311_clients import DEV_KEY_FILE
from tests.helpers import FAST_CONSUMERS, api_client, nats_identity


@dataclass
class IntakeHarness:
    """A started intake, its Open311 key, and HTTP clients for it."""

    intake: Intake
    open311_key: str
    client: Callable[..., httpx.AsyncClient]

    async def stored(self, case_id: str) -> dict[str, Any]:
        """A case as intake stored it, whole."""
        doc = await self.intake.cases.get_versioned(case_id)
        assert doc is not None, f"no case {case_id}"
        return doc


async def start_intake(
    *, nats_url: str, mongodb_url: str, db_prefix: str, run_dir: Path, **overrides: Any
) -> IntakeHarness:
    """Build and start intake (its relay too); the caller stops `harness.intake.runtime`."""
    values: dict[str, Any] = (
        FAST_CONSUMERS
        | nats_identity(run_dir, "intake")
        | {
            "nats_url": nats_url,
            "mongodb_url": mongodb_url,
            "mongodb_db_prefix": db_prefix,
            "run_dir": run_dir,
        }
    )
    app = create_intake(IntakeSettings(**(values | overrides)))
    intake: Intake = app.state.intake
    await intake.runtime.start()

    def client(role: str, unit: str | None = None) -> httpx.AsyncClient:
        return api_client(app, run_dir / "keys", base_url="http://intake", role=role, unit=unit)

    key = (run_dir / "keys" / DEV_KEY_FILE).read_text(encoding="utf-8").strip()  # the generated client's
    return IntakeHarness(intake, key, client)
