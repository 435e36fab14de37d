"""Routing's composition root: the county package, the routes collection, the consumer, reload, training."""

import asyncio
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from dispatch_common import similarity, subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.confidential import ReadAudit, include_audit_api
from dispatch_common.http import create_app
from dispatch_common.jobs import Jobs
from dispatch_common.live import Hub, one_by_one
from dispatch_common.reload import Reloads
from dispatch_common.runtime import Runtime
from dispatch_common.workdays import WorkingCalendar
from services.routing import handlers, live
from services.routing.config import RoutingSettings
from services.routing.container import Routing, load_engine
from services.routing.domain.events import CaseScreenedView
from services.routing.domain.incidents import IncidentPolicy
from services.routing.entrypoints import api
from services.routing.incidents import INDEXES as INCIDENT_INDEXES

log = logging.getLogger("dispatch.routing")


def build(settings: RoutingSettings | None = None, *, clock: Clock | None = None) -> Routing:
    """Load the county package, wire routing's parts and its consumer."""
    settings = settings or RoutingSettings()
    engine = load_engine(settings.county_dir, settings.deadline_policy_file)
    clock = clock or SystemClock()
    runtime = Runtime(settings)
    routing = Routing(
        runtime=runtime,
        routes=runtime.outbox(runtime.db["routes"]),
        engine=engine,
        clock=clock,
        county_dir=Path(settings.county_dir),
        deadline_policy_file=Path(settings.deadline_policy_file),
        calendar=WorkingCalendar.load(settings.holiday_calendar_file),
        timezone=ZoneInfo(settings.county_timezone),
        loaded_at=clock.now(),
        reads=ReadAudit(runtime.db, clock),
        incidents=IncidentPolicy.load(settings.incident_policy_file),
    )
    routing.live = runtime.live(
        Hub(
            "routing",
            filters=live.ROUTE_EVENTS,
            prepare=one_by_one(live.prepare),
            window=settings.live_window,
            queue_size=settings.live_queue_size,
        )
    )
    routing.replays = Jobs(runtime.db, "replays", runtime=runtime, clock=clock)
    routing.replay_workers = settings.replay_workers
    routing.approvals = runtime.db["package_approvals"]
    routing.reloads = Reloads(runtime.bus, replica=settings.replica_name, apply=routing.reload_package)
    log.info("county package loaded", extra=routing.package_summary())

    async def indexes() -> None:
        await routing.routes.create_index("status")
        # the queues' sorts: compound for MongoDB, single fields for the embedded server's planner
        await routing.routes.create_index([("status", 1), ("decision.queue", 1), ("decided_at", 1)])
        await routing.routes.create_index([("status", 1), ("disputed_at", 1)])
        await routing.routes.create_index("decided_at")
        await routing.routes.create_index("disputed_at")
        await routing.routes.create_index("labelled")
        await routing.routes.create_index("decision.confidential")
        for index in INCIDENT_INDEXES:
            await routing.routes.create_index(index)
        await routing.reads.ensure_indexes()
        assert routing.replays is not None and routing.approvals is not None
        await routing.replays.ensure_indexes()
        await routing.approvals.create_index("package_version")

    runtime.on_migrate(indexes)
    runtime.on_start(routing.train_at_start)
    if routing.incidents.enabled:  # linking segments each routed text: jieba's dictionary before ready
        runtime.on_start(lambda: asyncio.to_thread(similarity.warm_up))

    async def on_screened(delivery: Delivery) -> None:
        await handlers.route_case(
            delivery.event,
            delivery.data,
            routes=routing.routes,
            engine=routing.engine,
            clock=routing.clock,
            consumer=subjects.ROUTING_ON_SCREENED,
            incidents=routing.incidents,
        )
        runtime.nudge()

    # No inbox of processed events: a route is inserted under the case id, so a case routed before
    # inserts nothing more and owes no second event.
    runtime.bus.consume(
        subject=subjects.CASE_SCREENED,
        durable=subjects.ROUTING_ON_SCREENED,
        handler=on_screened,
        data_model=CaseScreenedView,
        inbox=False,
    )
    return routing


def create(settings: RoutingSettings | None = None) -> FastAPI:
    """The routing HTTP app."""
    settings = settings or RoutingSettings()
    routing = build(settings)

    def include(app: FastAPI) -> None:
        api.include(app)
        include_audit_api(app)

    app = create_app(
        routing.runtime,
        title="Routing",
        description="Jurisdiction, category, units and tier (属地与分类派单), and people's corrections.",
        include=include,
        larger_bodies={"/v1/admin/replays": settings.replay_max_body_bytes},
    )
    app.state.routing = routing
    app.state.confidentiality = routing.confidentiality  # the audit endpoint reads its `audit`
    app.state.resolvers = api.resolvers(routing)
    return app
