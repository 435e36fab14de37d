"""Mediation's container: everything its handlers and entrypoints need, built once per
process by bootstrap.py (which imports the entrypoints; they import this, never bootstrap)."""

import logging
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from dispatch_common.clock import Clock
from dispatch_common.county import county_name
from dispatch_common.crypto import load_pii_keys
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.workdays import WorkingCalendar
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
