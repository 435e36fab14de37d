"""Routing's commands: route a screened case once (revision 1), with its explanation.

The corrections people make to a route are in corrections.py (what every correction shares: the
revision, its event and its labelled examples), overrides.py (改派, also how a case in the manual queue
is placed), returns.py (退单) and disputes.py (争议管辖 and the joint conference's decision).
"""

import asyncio
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.routing.domain.events import (
    CaseRouted,
    CaseScreenedView,
)
from services.routing.domain.incidents import IncidentPolicy
from services.routing.domain.models import RouteDecision, RouteRequest
from services.routing.engine import RoutingEngine
from services.routing.incidents import link_incident

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
        repeat=case.repeat,
        earlier_cases=case.earlier_cases,
        confidential=case.confidential,
        category_hint=case.category_hint,
    )


async def route_case(
    event: Envelope,
    case: CaseScreenedView,
    *,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    consumer: str,
    incidents: IncidentPolicy | None = None,
) -> RouteDecision | None:
    """Place an accepted case: jurisdiction, category, flags, units, tier; stored with its explanation."""
    if case.outcome not in ROUTED_OUTCOMES:
        return None  # refused, redirected, transferred or answered at intake: nothing to dispatch
    request = request_of(case)
    decision = await decide_off_loop(engine, request)
    now = clock.now()
    linking: dict[str, Any] = {}
    if incidents is not None:  # an incident's later calls go to its lead case's unit (routing/incidents.py)
        decision, linking = await link_incident(
            case.case_id, request.text, decision, routes=routes, engine=engine, policy=incidents, now=now
        )
    doc: dict[str, Any] = {
        "_id": case.case_id,
        "case_no": case.case_no,
        "request": request.model_dump(mode="json"),
        "decision": decision.model_dump(mode="json"),
        "package_version": engine.version,
        "decided_at": now,
        "assigned_at": now if decision.queue == "auto" and decision.lead_unit else None,
        "cause_event_id": event.id,
        "revision": 1,
        "status": "routed",
        "excluded_units": [],
        "returns": [],
        "corrections": [],
        "forced": {},
        "final": False,
        "labelled": False,
        **linking,
    }
    announce = make_event(
        type=subjects.CASE_ROUTED,
        source=SOURCE,
        subject=case.case_id,
        clock=clock,
        event_id=derived_event_id(consumer, event.id, subjects.CASE_ROUTED),
        data=CaseRouted.of(
            case_id=case.case_id, case_no=case.case_no, decision=decision, package_version=engine.version
        ).model_copy(update={"incident": linking.get("incident")}),
    )
    await store.insert_aggregate(routes, doc, [announce])  # False: routed before, nothing more to do
    return decision


async def decide_off_loop(engine: RoutingEngine, request: RouteRequest, **corrections: Any) -> RouteDecision:
    """The engine's decision, computed in a thread: its cost grows with the text (up to 5,000
    characters), and the event loop keeps answering and acknowledging meanwhile."""
    return await asyncio.to_thread(engine.decide, request, **corrections)
