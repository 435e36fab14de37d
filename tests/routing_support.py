"""Routing in process for integration tests: a started routing, a clock for the routes a test
stores, clients by role, and a case routed as the consumer routes it."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from dispatch_common import subjects
from dispatch_common.clock import FixedClock
from dispatch_common.envelope import make_event
from services.routing.container import Routing
from services.routing.domain.events import CaseScreenedView
from services.routing.handlers import route_case


class Harness:
    """A started routing, a clock for the routes the test stores, and HTTP clients by role."""

    def __init__(self, routing: Routing, client: Callable[..., httpx.AsyncClient]) -> None:
        self.routing, self.client = routing, client
        self.clock = FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))

    async def route(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Route a sample case as the consumer would (a second later than the one before)."""
        self.clock.advance(timedelta(seconds=1))
        case_id = str(uuid.uuid4())
        fields = {k: v for k, v in sample.items() if k not in ("id", "expect")}
        view = CaseScreenedView(
            case_id=case_id,
            case_no=f"990102-2026-{uuid.uuid4().int % 10**6:06d}",
            outcome="accepted",
            **fields,
        )
        event = make_event(
            type=subjects.CASE_SCREENED, source="/test", subject=case_id, data={}, clock=self.clock
        )
        r = self.routing
        await route_case(event, view, routes=r.routes, engine=r.engine, clock=self.clock, consumer="test")
        doc = await r.routes.find_one({"_id": case_id})
        assert doc is not None
        return doc
