"""Mediation's composition root."""

import logging
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from dispatch_common.clock import Clock, SystemClock
from dispatch_common.county import county_name
from dispatch_common.crypto import load_pii_keys
from dispatch_common.http import create_app
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.workdays import WorkingCalendar
from services.mediation import scanner
from services.mediation.adapters.repository import MediationStore
from services.mediation.config import MediationSettings
from services.mediation.domain.documents import Documents
from services.mediation.domain.mediators import Mediator, load_mediators
from services.mediation.domain.organization_edits import apply_overrides
from services.mediation.domain.organizations import Directory
from services.mediation.domain.policy import MediationPolicy
from services.mediation.domain.rules import Rules

log = logging.getLogger("dispatch.mediation")


@dataclass
class Mediation:
    """Everything mediation's handlers need."""

    runtime: Runtime
    repo: MediationStore
    rules: Rules
    seed: list[Mediator]
    clock: Clock
    settings: MediationSettings
    skipped_overrides: list[str] = field(default_factory=list)
    reloads: Reloads | None = None

    async def reload_data(self) -> dict[str, Any]:
        """Check the files again and use them (raises their problems, keeping the rules in use); the
        organizations' API edits stay laid over the new data, new seed mediators are added."""
        rules, seed = load_rules(self.settings)
        skipped = await refresh_directory(self, rules)
        self.seed = seed
        added = await self.repo.seed_mediators(m.model_dump() for m in seed)
        return {
            "organizations": len(self.rules.directory.organizations),
            "organizations_version": rules.directory.version,
            "policy_version": rules.policy.version,
            "mediators_added": added,
            "edits_not_used": skipped,
        }


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
        keys=load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir),
    )
    return rules, load_mediators(settings.mediators_file, directory)


async def refresh_directory(med: Mediation, rules: Rules | None = None) -> list[str]:
    """Lay the organizations' API edits (MongoDB) over the data in use (or over newly loaded `rules`,
    which then come into use together with the edits); the edits skipped, each logged once while it
    stays skipped."""
    overrides = await med.repo.organization_overrides()
    base = rules or med.rules
    directory, skipped = apply_overrides(base.directory, overrides)
    med.rules = replace(base, directory=directory)
    for line in sorted(set(skipped) - set(med.skipped_overrides)):
        log.warning("an organization's API edit is not used", extra={"problem": line})
    med.skipped_overrides = skipped
    return skipped


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
    from services.mediation.entrypoints import api

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
