"""Intake's composition root: builds its runtime, repositories, rules and app."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from dispatch_common import redact, similarity, store
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.confidential import Confidentiality, include_audit_api
from dispatch_common.county import area_names, county_code
from dispatch_common.crypto import PiiKeys, load_pii_keys
from dispatch_common.http import create_app
from dispatch_common.ratelimit import RateLimiter
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.systems import ExternalSystem, load_systems
from services.intake.adapters.history import CaseHistory, find_links
from services.intake.adapters.identities import IdentityLinks
from services.intake.adapters.pool import DataPool
from services.intake.adapters.profile import ProfileReader
from services.intake.adapters.repository import CaseRepository
from services.intake.config import IntakeSettings
from services.intake.domain.boundary import CountyBoundary
from services.intake.domain.duplicates import CaseSnapshot, DuplicatePolicy, Links
from services.intake.domain.open311_clients import DEV_KEY_FILE, Open311Clients, development_clients
from services.intake.domain.open311_services import Catalogue
from services.intake.domain.profile_policy import ProfilePolicy
from services.intake.domain.screening import Screener, ScreeningRules

RATE_WINDOWS = "rate_windows"
"""The shared counters of the per-client rate limits (dispatch_common/ratelimit.py)."""
RATE_SWEEP_SECONDS = 60.0


async def _load_segmenter() -> None:
    """Load jieba's dictionary before the service says it is ready (about a second, off the loop)."""
    await asyncio.to_thread(similarity.warm_up)


@dataclass
class ScreeningHolder:
    """The screening rules in force; reload swaps them whole, and a bad file leaves the old ones in force."""

    rules_file: Path
    kb_file: Path
    current: Screener = field(init=False)

    def __post_init__(self) -> None:
        self.current = Screener(ScreeningRules.from_file(self.rules_file, self.kb_file))

    def reload(self) -> str:
        """Read the rules again (raises ScreeningRulesError, keeping the old ones); returns the version."""
        self.current = Screener(ScreeningRules.from_file(self.rules_file, self.kb_file))
        return self.current.rules.version


@dataclass(frozen=True)
class Open311Door:
    """What the Open311 door needs: its clients, its service catalogue, the county's area names."""

    clients: Open311Clients
    catalogue: Catalogue
    areas: dict[str, str]

    @property
    def feeds(self) -> frozenset[str]:
        """The clients whose outcome feed is published (for notify to deliver to their webhooks)."""
        return self.clients.feeds


ProfileSection = Callable[[tuple[str, ...], list[str]], Awaitable[list[dict[str, Any]]]]
"""A part of the platform's contribution to a profile: from the petitioner's keys and case ids, its
items (proxy agents, risk-ledger entries); registered by name in `Profiles.sections`."""


@dataclass
class Profiles:
    """The petitioner profile's parts: the later facts of cases, the data pool, the policy, and the
    sections other parts of the platform add."""

    reader: ProfileReader
    pool: DataPool
    policy: ProfilePolicy
    sections: dict[str, ProfileSection] = field(default_factory=dict)


@dataclass
class Intake:
    """Everything intake's handlers need, built once per process."""

    runtime: Runtime
    cases: CaseRepository
    history: CaseHistory
    identities: IdentityLinks
    duplicates: DuplicatePolicy
    screening: ScreeningHolder
    boundary: CountyBoundary
    clock: Clock
    keys: PiiKeys
    county: str
    open311: Open311Door
    timezone: ZoneInfo
    confidentiality: Confidentiality
    limiter: RateLimiter
    systems: tuple[ExternalSystem, ...] = ()
    reloads: Reloads | None = None
    profiles: Profiles | None = None

    async def reload_rules(self) -> dict[str, str]:
        """Read the screening rules again (raises ScreeningRulesError, keeping the old ones)."""
        return {"version": self.screening.reload()}

    async def find_links(self, snapshot: CaseSnapshot) -> Links:
        """Repeats of the same petitioner and incidents at the same place."""
        return await find_links(self.history, snapshot, self.duplicates)


def _open311(settings: IntakeSettings) -> Open311Door:
    """The Open311 clients (a development file is made once outside production) and catalogue."""
    path = settings.open311_clients_file
    if path is None and settings.environment != "production":
        path = development_clients(settings.keys_dir)
    clients = Open311Clients.load(path) if path is not None else Open311Clients([])
    return Open311Door(
        clients=clients,
        catalogue=Catalogue(settings.county_dir, settings.open311_services_file),
        areas=area_names(settings.county_dir),
    )


def build(settings: IntakeSettings | None = None, *, clock: Clock | None = None) -> Intake:
    """Wire intake's parts and its ingress consumer."""
    from services.intake.entrypoints import subscribers

    settings = settings or IntakeSettings()
    # Intake answers its submitters without NATS: each case is stored with the events it owes.
    runtime = Runtime(settings, ready_without_nats=True)
    cases = CaseRepository(runtime.db)
    history = CaseHistory(runtime.db)
    runtime.outbox(cases.cases)
    runtime.on_start(lambda: store.require_client_bulk_write(runtime.mongo))
    runtime.on_migrate(cases.ensure_indexes)
    runtime.on_migrate(history.ensure_indexes)
    identities = IdentityLinks(runtime.db)
    runtime.on_migrate(identities.ensure_indexes)
    runtime.on_migrate(cases.ensure_open311_indexes)
    runtime.on_start(_load_segmenter)
    clock = clock or SystemClock()
    confidentiality = Confidentiality.build(settings.county_dir, runtime.db, clock)
    runtime.on_migrate(confidentiality.audit.ensure_indexes)
    limiter = RateLimiter(runtime.db[RATE_WINDOWS], settings.rate_limits, enabled=settings.rate_limit_enabled)
    runtime.on_migrate(limiter.ensure_indexes)
    runtime.every(RATE_SWEEP_SECONDS, limiter.sweep, name="rate-window-sweep")
    intake = Intake(
        runtime=runtime,
        cases=cases,
        history=history,
        identities=identities,
        duplicates=DuplicatePolicy.load(settings.duplicates_policy_file),
        screening=ScreeningHolder(settings.screening_rules_file, settings.knowledge_base_file),
        boundary=CountyBoundary(settings.county_dir),
        clock=clock,
        keys=load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir),
        county=county_code(settings.county_dir),
        open311=_open311(settings),
        timezone=ZoneInfo(settings.county_timezone),
        confidentiality=confidentiality,
        limiter=limiter,
        systems=load_systems(settings.ingress_systems_file),
    )
    intake.reloads = Reloads(runtime.bus, replica=settings.replica_name, apply=intake.reload_rules)
    dev_key = settings.keys_dir / DEV_KEY_FILE
    if settings.open311_clients_file is None and dev_key.exists():  # the generated key no setting names
        redact.register_secrets({dev_key.read_text(encoding="utf-8").strip()})
    intake.profiles = _profiles(settings, runtime, history)
    subscribers.register(intake)
    return intake


def _profiles(settings: IntakeSettings, runtime: Runtime, history: CaseHistory) -> Profiles:
    """The profile's parts, its consumer of other services' events, and the pool's indexes."""
    from services.intake import profile_outcomes

    policy = ProfilePolicy.load(settings.profile_policy_file)
    reader = ProfileReader(runtime.db, history)
    pool = DataPool(runtime.db)
    runtime.on_migrate(reader.ensure_indexes)
    runtime.on_migrate(pool.ensure_indexes)
    profile_outcomes.register(runtime, reader)
    return Profiles(reader=reader, pool=pool, policy=policy)


def create(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake HTTP app."""
    from services.intake.entrypoints import api, open311, pool, profile

    settings = settings or IntakeSettings()
    intake = build(settings)

    def include(app: FastAPI) -> None:
        api.include(app)
        open311.include(app)
        app.include_router(profile.router)
        app.include_router(pool.router)
        include_audit_api(app)

    app = create_app(
        intake.runtime,
        title="Intake",
        description="Registration, screening and protection of citizen requests (登记, 甄别).",
        include=include,
        max_body_bytes=settings.max_body_bytes,
    )
    app.state.intake = intake
    app.state.settings = settings
    app.state.confidentiality = intake.confidentiality
    app.state.resolvers = api.resolvers(intake)
    return app
