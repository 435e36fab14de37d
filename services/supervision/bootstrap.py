"""Supervision's composition root."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from dispatch_common import lookup_code, subjects
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.confidential import Confidentiality, include_audit_api
from dispatch_common.county import unit_directory
from dispatch_common.crypto import PiiKeys, load_pii_keys
from dispatch_common.http import create_app
from dispatch_common.live import Hub
from dispatch_common.live_snapshot import Snapshot
from dispatch_common.ratelimit import RateLimiter
from dispatch_common.runtime import Runtime
from dispatch_common.workdays import WorkingCalendar
from services.supervision import alarms, ledger_scan
from services.supervision.adapters.agents import AgentDirectory
from services.supervision.adapters.ledger import LedgerBook
from services.supervision.adapters.lookup_codes import LookupCodes
from services.supervision.adapters.reception import Sessions
from services.supervision.adapters.repository import CaseFiles
from services.supervision.board import Board
from services.supervision.config import SupervisionSettings
from services.supervision.container import Supervision
from services.supervision.domain.agents import TierPolicy, load_agents
from services.supervision.domain.ledger import LedgerPolicy
from services.supervision.domain.policy import DeadlinePolicy, Timekeeper
from services.supervision.entrypoints import api, subscribers
from services.supervision.inspection import Inspections, county_day, due
from services.supervision.ledger import Ledger
from services.supervision.ledger_places import Places
from services.supervision.live import LiveCases
from services.supervision.representation import Representations
from services.supervision.stuck import StuckCases
from services.supervision.warnings import WarningPolicy, Warnings


def build(settings: SupervisionSettings | None = None, *, clock: Clock | None = None) -> Supervision:
    """Wire supervision's parts and its consumers."""
    settings = settings or SupervisionSettings()
    clock = clock or SystemClock()
    runtime = Runtime(settings)
    files = CaseFiles(runtime.db)
    runtime.outbox(files.files)
    runtime.outbox(files.recommendations)
    runtime.on_migrate(files.ensure_indexes)

    async def backfill() -> None:  # lines and recommendations from before the cursor lists get their keys
        await files.backfill_list_keys()

    runtime.on_migrate(backfill)
    confidentiality = Confidentiality.build(settings.county_dir, runtime.db, clock)
    runtime.on_migrate(confidentiality.audit.ensure_indexes)
    keys = load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir)
    sv = Supervision(
        runtime=runtime,
        files=files,
        keeper=Timekeeper(
            DeadlinePolicy.load(settings.deadline_policy_file),
            WorkingCalendar.load(settings.holiday_calendar_file),
            ZoneInfo(settings.county_timezone),
        ),
        clock=clock,
        warnings=Warnings(
            warnings=runtime.outbox(runtime.db["warnings"]),
            counts=runtime.db["cluster_marks"],
            policy=WarningPolicy.load(settings.warning_policy_file),
            timezone=ZoneInfo(settings.county_timezone),
            clock=clock,
        ),
        confidentiality=confidentiality,
        stuck=StuckCases(files, timedelta(seconds=settings.stuck_after_seconds)),
        inspections=Inspections.of(runtime.db),
        lookup_codes=LookupCodes(runtime.db["lookup_codes"]),
        lookup_key=lookup_code.verifier_key(keys),
        progress_limiter=RateLimiter(
            runtime.db["rate_windows"],
            settings.progress_rate_limits,
            enabled=settings.progress_rate_limit_enabled,
        ),
        sessions=Sessions(runtime.db),
        scan_seconds=settings.deadline_scan_seconds,
        units=unit_directory(settings.county_dir),
    )
    runtime.on_migrate(sv.warnings.ensure_indexes)
    runtime.on_migrate(sv.progress_limiter.ensure_indexes)
    runtime.every(60.0, sv.progress_limiter.sweep, name="rate-window-sweep")
    _wire_agents(sv, settings)
    runtime.outbox(sv.sessions.sessions)  # dispatch.reception.booked / .decided
    runtime.on_migrate(sv.sessions.ensure_indexes)
    sv.ledger = ledger = _ledger(settings, sv, keys)
    sv.live = runtime.live(
        Hub(
            "supervision",
            filters=(subjects.DISPATCH_SUBJECTS,),
            prepare=LiveCases(files).prepare,
            window=settings.live_window,
            queue_size=settings.live_queue_size,
        )
    )
    board = Board(
        files,
        sv.warnings.warnings,
        clock,
        sv.keeper.timezone,
        timedelta(hours=settings.live_due_soon_hours),
    )
    sv.board = Snapshot("board", board.figures, settings.live_board_seconds)
    runtime.every(settings.live_board_seconds, sv.board.refresh, name="live-board")
    runtime.on_migrate(sv.inspections.ensure_indexes)
    runtime.outbox(sv.inspections.announcements)  # dispatch.inspection.compiled, once a day
    subscribers.register(sv)

    async def scan() -> None:
        acted = await alarms.scan(files=sv.files, keeper=sv.keeper, clock=sv.clock)
        today = sv.clock.now().astimezone(sv.keeper.timezone).date()
        acted += await sv.warnings.raise_trends(sv.files.rollups, today)
        if sv.representations is not None:
            acted += await sv.representations.escalate_due(files=sv.files, clock=sv.clock)
        acted += await ledger_scan.scan(ledger)
        if acted:
            runtime.nudge()

    async def look_for_stuck() -> None:
        await sv.stuck.sweep(sv.clock.now())

    runtime.every(sv.scan_seconds, scan, name="deadline-scanner")

    async def inspect() -> None:
        now = sv.clock.now()
        if not due(now, sv.keeper.timezone, settings.inspection_hour):
            return
        day = county_day(now, sv.keeper.timezone)
        report = await sv.inspections.report(day)
        if report is None:
            report = await sv.inspections.compile(
                sv.files, day=day, now=now, stuck_after=sv.stuck.after, ledger=ledger.book
            )
        if report is not None and not report.get("announced"):  # told once, after the morning's hour
            await sv.inspections.announce(report, sv.clock)

    runtime.every(settings.stuck_scan_seconds, look_for_stuck, name="stuck-cases")
    runtime.every(settings.inspection_check_seconds, inspect, name="daily-inspection")
    return sv


def _wire_agents(sv: Supervision, settings: SupervisionSettings) -> None:
    """The agents' directory, seeded from the county package, and the representations of cases."""
    seeded = load_agents(settings.county_dir, set(sv.units), settings.agents_file)  # unfit: no start
    sv.agents = AgentDirectory(sv.runtime.db)
    representations = Representations(
        sv.runtime.db, sv.agents, TierPolicy.load(settings.agent_tier_policy_file)
    )
    sv.runtime.outbox(representations.col)  # dispatch.case.represented, .agent_escalated
    sv.representations = representations
    agents = sv.agents

    async def seed() -> None:
        await agents.ensure_indexes()
        await agents.seed(seeded, sv.clock.now())

    sv.runtime.on_migrate(seed)
    sv.runtime.on_migrate(representations.ensure_indexes)


def _ledger(settings: SupervisionSettings, sv: Supervision, keys: PiiKeys) -> Ledger:
    """The risk ledger: its collection (with an outbox), its table, the county's places and units."""
    book = LedgerBook.of(sv.runtime.db)
    sv.runtime.outbox(book.entries)
    sv.runtime.on_migrate(book.ensure_indexes)
    return Ledger(
        book=book,
        policy=LedgerPolicy.load(settings.ledger_policy_file),
        places=Places(settings.county_dir),
        keys=keys,
        keeper=sv.keeper,
        clock=sv.clock,
        units=sv.units,
        case_files=sv.files.files,
        warnings=sv.warnings.warnings,
    )


def create(settings: SupervisionSettings | None = None, *, sv: Supervision | None = None) -> FastAPI:
    """The supervision HTTP app (of a supervision built here, or the one given: a test's)."""
    sv = sv or build(settings)

    def include(app: FastAPI) -> None:
        api.include(app)
        include_audit_api(app)

    app = create_app(
        sv.runtime,
        title="Supervision",
        description="The case file, assignment and deadlines (办理与督办).",
        include=include,
    )
    app.state.supervision = sv
    app.state.confidentiality = sv.confidentiality
    app.state.resolvers = api.resolvers(sv)
    return app
