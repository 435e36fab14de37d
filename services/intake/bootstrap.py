"""Intake's composition root: builds its runtime, repositories, rules and app."""

import asyncio
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import redact, similarity, store
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.confidential import Confidentiality, include_audit_api
from dispatch_common.county import area_names, county_code
from dispatch_common.crypto import PiiKeys, load_pii_keys
from dispatch_common.http import create_app
from dispatch_common.jobs import Jobs
from dispatch_common.ratelimit import RateLimiter
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.systems import load_systems
from services.intake.adapters.history import CaseHistory
from services.intake.adapters.identities import IdentityLinks
from services.intake.adapters.pool import DataPool
from services.intake.adapters.profile import ProfileReader
from services.intake.adapters.profile_sections import ProfileSections
from services.intake.adapters.repository import CaseRepository
from services.intake.config import IntakeSettings
from services.intake.container import Intake, Open311Door, Profiles, ScreeningHolder
from services.intake.domain.boundary import CountyBoundary
from services.intake.domain.duplicates import DuplicatePolicy
from services.intake.domain.open311_clients import DEV_KEY_FILE, Open311Clients, development_clients
from services.intake.domain.open311_services import Catalogue
from services.intake.domain.profile_policy import ProfilePolicy
from services.intake.entrypoints import api, open311, pool, profile, subscribers

RATE_WINDOWS = "rate_windows"
"""The shared counters of the per-client rate limits (dispatch_common/ratelimit.py)."""
RATE_SWEEP_SECONDS = 60.0


async def _load_segmenter() -> None:
    """Load jieba's dictionary before the service says it is ready (about a second, off the loop)."""
    await asyncio.to_thread(similarity.warm_up)


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
    intake.replays = Jobs(runtime.db, "screening_replays", runtime=runtime, clock=clock)
    intake.approvals = runtime.db["screening_approvals"]
    runtime.on_migrate(intake.replays.ensure_indexes)
    runtime.on_migrate(_approval_indexes(intake.approvals))
    dev_key = settings.keys_dir / DEV_KEY_FILE
    if settings.open311_clients_file is None and dev_key.exists():  # the generated key no setting names
        redact.register_secrets({dev_key.read_text(encoding="utf-8").strip()})
    intake.profiles = _profiles(settings, runtime, history, intake.keys)
    subscribers.register(intake)
    return intake


def _approval_indexes(approvals: AsyncCollection) -> Callable[[], Awaitable[None]]:
    """The index activations look approvals up by (the rules' content hash)."""

    async def ensure() -> None:
        await approvals.create_index("rules_digest")

    return ensure


def _profiles(settings: IntakeSettings, runtime: Runtime, history: CaseHistory, keys: PiiKeys) -> Profiles:
    """The profile's parts, its consumer of other services' events, and the pool's indexes."""
    from services.intake import profile_outcomes

    policy = ProfilePolicy.load(settings.profile_policy_file)
    reader = ProfileReader(runtime.db, history)
    pool = DataPool(runtime.db)
    sections = ProfileSections(reader.outcomes)
    runtime.on_migrate(reader.ensure_indexes)
    runtime.on_migrate(sections.ensure_indexes)
    runtime.on_migrate(pool.ensure_indexes)
    profile_outcomes.register(runtime, reader, keys)
    return Profiles(
        reader=reader,
        pool=pool,
        policy=policy,
        sections={"agents": sections.agents, "risk_entries": sections.risk_entries},
    )


def create(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake HTTP app."""
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
        larger_bodies={"/v1/admin/screening-replays": settings.replay_max_body_bytes},
    )
    app.state.intake = intake
    app.state.settings = settings
    app.state.confidentiality = intake.confidentiality
    app.state.resolvers = api.resolvers(intake)
    return app
