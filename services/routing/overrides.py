"""A dispatcher's override (改派), which is also how a case in the manual queue is placed."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from services.routing.corrections import (
    Correction,
    InvalidCorrection,
    NotEntitled,
    RouteConflict,
    _current,
    _redecide,
    _save_revision,
    _validate,
    _with_people,
)
from services.routing.domain.confidential import correction_problems
from services.routing.engine import RoutingEngine


async def override_route(
    case_id: str,
    change: Correction,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    if_match: str | None = None,
) -> dict[str, Any]:
    """A dispatcher's override (改派), or the placement of a case from the manual queue."""
    if not caller.county_wide:
        raise NotEntitled("only a dispatcher or supervisor may override a route")
    doc = await _current(routes, case_id, if_match)
    if doc.get("status") == "disputed":
        raise RouteConflict("the case waits for the joint conference (争议管辖); it decides the route")
    if doc.get("final") and "override_decided_route" not in caller.capabilities:
        raise RouteConflict("the joint conference decided this route; only its members change it")
    return await _apply_correction(
        doc,
        change,
        kind="override",
        excluded=doc.get("excluded_units") or [],
        who=f"{caller.role.value} {caller.subject}",
        extra={},
        caller=caller,
        routes=routes,
        engine=engine,
        clock=clock,
    )


async def _apply_correction(
    doc: dict[str, Any],
    change: Correction,
    *,
    kind: str,
    excluded: list[str],
    who: str,
    extra: dict[str, Any],
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    allow_manual: bool = False,
) -> dict[str, Any]:
    """Decide again with what a person set, apply their units and tier, and save the revision; the
    category they set (if any) becomes a labelled example."""
    forced = {**(doc.get("forced") or {}), **_validate(change, engine)}
    confidential = bool(doc["request"].get("confidential"))
    if confidential:
        problems = correction_problems(
            engine.package,
            lead_unit=change.lead_unit,
            assisting_units=change.assisting_units,
            area=change.area,
        )
        if problems:
            raise InvalidCorrection(problems)
    decision = _with_people(await _redecide(doc, engine, excluded, forced), change, engine, who)
    if decision.lead_unit is None and not allow_manual:
        raise InvalidCorrection([("lead_unit", "no unit is competent here: name the lead unit")])
    return await _save_revision(
        routes,
        doc,
        decision,
        kind=kind,
        cause=kind,
        change=change,
        caller=caller,
        engine=engine,
        clock=clock,
        extra={"forced": forced, **_place_example(doc, change, caller, confidential), **extra},
        # a confidential route's text is a placeholder: never an example to learn from
        label=not confidential and (change.category is not None or change.subcategory is not None),
    )


def _place_example(
    doc: dict[str, Any], change: Correction, caller: Principal, confidential: bool
) -> dict[str, Any]:
    """A person placed a case with an address by its area: a place example for the place matcher."""
    if change.area is None or confidential or not doc["request"].get("address"):
        return {}
    return {"place_labelled": True, "place_label": {"area": change.area, "by": caller.subject}}
