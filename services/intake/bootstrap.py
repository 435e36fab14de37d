"""Intake's composition root: builds its runtime, repositories and app."""

from dataclasses import dataclass

from fastapi import FastAPI

from dispatch_common.clock import Clock, SystemClock
from dispatch_common.county import county_code
from dispatch_common.crypto import PiiKeys, load_pii_keys
from dispatch_common.http import create_app
from dispatch_common.runtime import Runtime
from services.intake.adapters.repository import CaseRepository
from services.intake.config import IntakeSettings


@dataclass
class Intake:
    """Everything intake's handlers need, built once per process."""

    runtime: Runtime
    cases: CaseRepository
    clock: Clock
    keys: PiiKeys
    county: str


def build(settings: IntakeSettings | None = None, *, clock: Clock | None = None) -> Intake:
    """Wire intake's parts."""
    settings = settings or IntakeSettings()
    runtime = Runtime(settings)
    cases = CaseRepository(runtime.db)
    runtime.outbox(cases.cases)
    runtime.on_start(cases.ensure_indexes)
    keys = load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir)
    return Intake(
        runtime=runtime,
        cases=cases,
        clock=clock or SystemClock(),
        keys=keys,
        county=county_code(settings.county_dir),
    )


def create(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake HTTP app."""
    from services.intake.entrypoints import api

    settings = settings or IntakeSettings()
    intake = build(settings)
    app = create_app(
        intake.runtime,
        title="Intake",
        description="Registration of citizen requests (登记受理).",
        include=api.include,
        max_body_bytes=settings.max_body_bytes,
    )
    app.state.intake = intake
    return app
