"""Mediation's composition root."""

import logging

from fastapi import FastAPI

from dispatch_common.clock import Clock, SystemClock
from dispatch_common.http import create_app
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from services.mediation import scanner
from services.mediation.adapters.repository import MediationStore
from services.mediation.config import MediationSettings
from services.mediation.container import Mediation, load_rules, refresh_directory
from services.mediation.entrypoints import api, subscribers

log = logging.getLogger("dispatch.mediation")


def build(settings: MediationSettings | None = None, *, clock: Clock | None = None) -> Mediation:
    """Wire mediation's parts, its consumers and its scanner."""
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
        await repo.seed_mediators(m.model_dump() for m in med.seed)
        await refresh_directory(med)

    med.reloads = Reloads(runtime.bus, replica=settings.replica_name, apply=med.reload_data)
    runtime.on_migrate(repo.ensure_indexes)

    async def backfill() -> None:  # records from before the own lists get their sort keys
        await repo.backfill_list_keys()

    runtime.on_migrate(backfill)
    runtime.on_start(prepare)
    subscribers.register(med)

    async def scan() -> None:
        if await scanner.scan(repo=med.repo, clock=med.clock):
            runtime.nudge()

    async def refresh() -> None:
        await refresh_directory(med)

    runtime.every(settings.mediation_scan_seconds, scan, name="mediation-scanner")
    runtime.every(settings.mediation_directory_refresh_seconds, refresh, name="mediation-directory")
    return med


def create(settings: MediationSettings | None = None) -> FastAPI:
    """The mediation HTTP app."""
    med = build(settings)
    app = create_app(
        med.runtime,
        title="Mediation",
        description="Mediation, legal aid and counselling (人民调解, 四调联动).",
        include=api.include,
    )
    app.state.mediation = med
    app.state.resolvers = api.resolvers(med)
    return app
