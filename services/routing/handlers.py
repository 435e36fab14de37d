"""Routing's handlers: decide a received case's route once, and owe dispatch.case.routed."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.routing.domain.events import CaseRouted, CaseScreenedView
from services.routing.domain.models import RouteDecision, RouteRequest
from services.routing.engine import RoutingEngine

SOURCE = "/dispatch/routing"


ROUTED_OUTCOMES = frozenset({"accepted"})


def request_of(case: CaseScreenedView) -> RouteRequest:
    """The routing question a screened case asks."""
    return RouteRequest(
        channel=case.channel,
        text=case.text,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        people_count=case.people_count,
    )


async def route_case(
    event: Envelope,
    case: CaseScreenedView,
    *,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    consumer: str,
) -> RouteDecision | None:
    """Place an accepted case: jurisdiction, category, flags, units, tier; stored with its explanation."""
    if case.outcome not in ROUTED_OUTCOMES:
        return None  # refused, redirected, transferred or answered at intake: nothing to dispatch
    decision = engine.decide(request_of(case))
    routed = CaseRouted.of(
        case_id=case.case_id, case_no=case.case_no, decision=decision, package_version=engine.version
    )
    doc: dict[str, Any] = {
        "_id": case.case_id,
        "case_no": case.case_no,
        "decision": decision.model_dump(mode="json"),
        "package_version": engine.version,
        "decided_at": clock.now(),
        "cause_event_id": event.id,
    }
    announce = make_event(
        type=subjects.CASE_ROUTED,
        source=SOURCE,
        subject=case.case_id,
        clock=clock,
        event_id=derived_event_id(consumer, event.id, subjects.CASE_ROUTED),
        data=routed,
    )
    await store.insert_aggregate(routes, doc, [announce])  # False: routed before, nothing more to do
    return decision
