"""Routing's composition root."""

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import subjects
from dispatch_common.bus import Delivery
from dispatch_common.clock import Clock, SystemClock
from dispatch_common.http import create_app
from dispatch_common.runtime import Runtime
from services.routing import handlers
from services.routing.config import RoutingSettings
from services.routing.domain.events import CaseScreenedView
from services.routing.engine import RoutingEngine

log = logging.getLogger("dispatch.routing")


@dataclass
class Routing:
    """Everything routing's handlers need."""

    runtime: Runtime
    routes: AsyncCollection
    engine: RoutingEngine
    clock: Clock


def build(settings: RoutingSettings | None = None, *, clock: Clock | None = None) -> Routing:
    """Load the county package, wire routing's parts and its consumer."""
    settings = settings or RoutingSettings()
    engine = RoutingEngine.from_dir(settings.county_dir)
    p = engine.package
    log.info(
        "county package loaded",
        extra={
            "county": p.county_code,
            "package_version": engine.version,
            "areas": len(p.areas),
            "units": len(p.units),
        },
    )
    runtime = Runtime(settings)
    routing = Routing(
        runtime=runtime,
        routes=runtime.outbox(runtime.db["routes"]),
        engine=engine,
        clock=clock or SystemClock(),
    )

    async def on_screened(delivery: Delivery) -> None:
        await handlers.route_case(
            delivery.event,
            delivery.data,
            routes=routing.routes,
            engine=routing.engine,
            clock=routing.clock,
            consumer=subjects.ROUTING_ON_SCREENED,
        )
        runtime.nudge()

    runtime.bus.consume(
        subject=subjects.CASE_SCREENED,
        durable=subjects.ROUTING_ON_SCREENED,
        handler=on_screened,
        data_model=CaseScreenedView,
    )
    return routing


def create(settings: RoutingSettings | None = None) -> FastAPI:
    """The routing HTTP app."""
    from services.routing.entrypoints import api

    routing = build(settings)
    app = create_app(
        routing.runtime,
        title="Routing",
        description="Jurisdiction, category, responsible units and tier (属地与分类派单).",
        include=api.include,
    )
    app.state.routing = routing
    return app
