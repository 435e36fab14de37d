"""Mediation's composition root."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from dispatch_common.clock import Clock, SystemClock
from dispatch_common.county import county_name
from dispatch_common.http import create_app
from dispatch_common.runtime import Runtime
from dispatch_common.workdays import WorkingCalendar
from services.mediation import scanner
from services.mediation.adapters.repository import MediationStore
from services.mediation.config import MediationSettings
from services.mediation.domain.documents import Documents
from services.mediation.domain.mediators import Mediator, load_mediators
from services.mediation.domain.organizations import Directory
from services.mediation.domain.policy import MediationPolicy
from services.mediation.domain.rules import Rules


@dataclass
class Mediation:
    """Everything mediation's handlers need."""

    runtime: Runtime
    repo: MediationStore
    rules: Rules
    seed: list[Mediator]
    clock: Clock
    settings: MediationSettings


def load_rules(settings: MediationSettings) -> tuple[Rules, list[Mediator]]:
    """Read and check the organizations, mediators, policy and templates; every problem is raised."""
    directory = Directory.load(settings.county_dir, settings.mediation_organizations_file)
    rules = Rules(
        directory=directory,
        policy=MediationPolicy.load(settings.mediation_policy_file),
        documents=Documents(settings.mediation_templates_dir),
        calendar=WorkingCalendar.load(settings.holiday_calendar_file),
        timezone=ZoneInfo(settings.county_timezone),
        county_name=county_name(settings.county_dir),
    )
    return rules, load_mediators(settings.mediators_file, directory)


def build(settings: MediationSettings | None = None, *, clock: Clock | None = None) -> Mediation:
    """Wire mediation's parts, its consumers and its scanner."""
    from services.mediation.entrypoints import subscribers

    settings = settings or MediationSettings()
    runtime = Runtime(settings)
    repo = MediationStore(runtime.db)
    runtime.outbox(repo.mediations)
    runtime.outbox(repo.referrals)
    rules, seed = load_rules(settings)
    med = Mediation(
        runtime=runtime, repo=repo, rules=rules, seed=seed, clock=clock or SystemClock(), settings=settings
    )

    async def prepare() -> None:
        await repo.ensure_indexes()
        await repo.seed_mediators(m.model_dump() for m in med.seed)

    runtime.on_start(prepare)
    subscribers.register(med)

    async def scan() -> None:
        if await scanner.scan(repo=med.repo, clock=med.clock):
            runtime.nudge()

    runtime.every(settings.mediation_scan_seconds, scan, name="mediation-scanner")
    return med


def create(settings: MediationSettings | None = None) -> FastAPI:
    """The mediation HTTP app."""
    from services.mediation.entrypoints import api

    med = build(settings)
    app = create_app(
        med.runtime,
        title="Mediation",
        description="Mediation, legal aid and counselling (人民调解, 四调联动).",
        include=api.include,
    )
    app.state.mediation = med
    return app
