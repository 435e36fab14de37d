"""A unit's return (退单) within the time limit, after which routing decides again without that unit."""

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.workdays import WorkingCalendar
from services.routing.corrections import (
    Correction,
    NotEntitled,
    RouteConflict,
    _current,
    _redecide,
    _save_revision,
)
from services.routing.disputes import _dispute
from services.routing.engine import RoutingEngine


@dataclass(frozen=True)
class ReturnPolicy:
    """How long a unit may return a case, in working days of the county."""

    working_days: int
    calendar: WorkingCalendar
    timezone: ZoneInfo


async def return_route(
    case_id: str,
    reason: str,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    policy: ReturnPolicy,
    if_match: str | None = None,
) -> dict[str, Any]:
    """A unit's return (退单): routed again without it, or to the joint conference."""
    if caller.county_wide or not caller.unit:
        raise NotEntitled("only a handler or leader of a unit may return a case")
    doc = await _current(routes, case_id, if_match)
    decision = doc["decision"]
    lead = (decision.get("lead_unit") or {}).get("code")
    assisting = {u["code"] for u in decision.get("assisting_units") or []}
    if decision.get("queue") != "auto":
        raise RouteConflict("the case waits in the manual queue; it is nobody's to return yet")
    if caller.unit != lead and caller.unit not in assisting:
        raise NotEntitled(f"unit {caller.unit} neither leads nor assists on this case")
    if doc.get("status") == "disputed":
        raise RouteConflict("the case already waits for the joint conference (争议管辖)")
    if doc.get("final"):
        raise RouteConflict("the joint conference decided this route; it cannot be returned again")
    now = clock.now()
    assigned_at = doc.get("assigned_at") or doc["decided_at"]
    limit = policy.calendar.limit(assigned_at, policy.working_days, policy.timezone)
    if now >= limit:
        raise RouteConflict(
            f"a case may be returned within {policy.working_days} working days of its assignment, "
            f"until {limit.isoformat()}"
        )
    entry = {"unit": caller.unit, "reason": reason, "at": now, "revision": doc["revision"]}
    returns = [*doc.get("returns", []), entry]
    change = Correction(reason=reason)
    if caller.unit != lead:
        return await _dispute(
            doc, returns, f"assisting unit {caller.unit} refuses its share: {reason}", caller, routes, clock
        )
    if len(returns) >= 2:
        return await _dispute(
            doc, returns, f"returned a second time by {caller.unit}: {reason}", caller, routes, clock
        )
    excluded = [*(doc.get("excluded_units") or []), caller.unit]
    redecided = await _redecide(doc, engine, excluded, doc.get("forced") or {})
    if redecided.lead_unit is None:
        return await _dispute(
            doc,
            returns,
            f"returned by {caller.unit} and no other unit is competent: {reason}",
            caller,
            routes,
            clock,
        )
    redecided = redecided.model_copy(
        update={"explanation": [*redecided.explanation, f"Returned (退单) by {caller.unit}: {reason}"]}
    )
    return await _save_revision(
        routes,
        doc,
        redecided,
        kind="return",
        cause="return",
        change=change,
        caller=caller,
        engine=engine,
        clock=clock,
        extra={"excluded_units": excluded, "returns": returns},
        label=False,
    )
