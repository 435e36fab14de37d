"""A dispatcher detaches a wrongly linked case from its incident (同一事项): it is routed on its own."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from services.routing.corrections import Correction, InvalidCorrection, NotEntitled, RouteConflict, _current
from services.routing.engine import RoutingEngine
from services.routing.overrides import _apply_correction


async def detach_case(
    case_id: str,
    reason: str,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    if_match: str | None = None,
) -> dict[str, Any]:
    """A dispatcher detaches a wrongly linked case from its incident: it is routed on its own (a new
    revision, cause `detach`), and no later call joins an incident through it."""
    if not caller.county_wide:
        raise NotEntitled("only a dispatcher or supervisor may detach a case from its incident")
    doc = await _current(routes, case_id, if_match)
    link = doc.get("incident")
    if not link:
        raise RouteConflict("the case is not linked to an incident")
    if doc.get("status") == "disputed":
        raise RouteConflict("the case waits for the joint conference (争议管辖); it decides the route")
    if not reason.strip():
        raise InvalidCorrection([("reason", "say why the case is not part of the incident")])
    change = Correction(reason=f"detached from incident {link['lead_case_no']}: {reason}")
    return await _apply_correction(
        doc,
        change,
        kind="detach",
        excluded=doc.get("excluded_units") or [],
        who=f"{caller.role.value} {caller.subject}",
        extra={"incident": None, "incident_place": None, "detached_from": link},
        caller=caller,
        routes=routes,
        engine=engine,
        clock=clock,
        allow_manual=True,
    )
