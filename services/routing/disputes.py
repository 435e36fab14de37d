"""A dispute (争议管辖) when a case is returned a second time, when an assisting unit refuses its share,
or when no other unit is competent; the joint conference's decision ends it."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import derived_event_id, make_event
from services.routing.corrections import (
    Correction,
    InvalidCorrection,
    NotEntitled,
    RouteChanged,
    RouteConflict,
    _actor,
    _current,
)
from services.routing.domain.events import (
    CaseRouteDisputed,
    Return,
)
from services.routing.domain.models import UnitRef
from services.routing.engine import RoutingEngine
from services.routing.handlers import SOURCE
from services.routing.overrides import _apply_correction


async def _dispute(
    doc: dict[str, Any],
    returns: list[dict[str, Any]],
    reason: str,
    caller: Principal,
    routes: AsyncCollection,
    clock: Clock,
) -> dict[str, Any]:
    now = clock.now()
    lead = doc["decision"].get("lead_unit")
    event = make_event(
        type=subjects.CASE_ROUTE_DISPUTED,
        source=SOURCE,
        subject=doc["_id"],
        clock=clock,
        event_id=derived_event_id("routing", doc["_id"], subjects.CASE_ROUTE_DISPUTED, str(len(returns))),
        data=CaseRouteDisputed(
            case_id=doc["_id"],
            case_no=doc["case_no"],
            revision=doc["revision"],
            reason=reason,
            raised_by=_actor(caller),
            lead_unit=UnitRef.model_validate(lead) if lead else None,
            returns=[Return(unit=r["unit"], reason=r["reason"], at=r["at"]) for r in returns],
        ),
    )
    changes = {
        "status": "disputed",
        "disputed_at": now,
        "dispute_reason": reason,
        "returns": returns,
        "corrections": [
            *doc.get("corrections", []),
            {
                "revision": doc["revision"],
                "kind": "dispute",
                "by": _actor(caller).model_dump(),
                "reason": reason,
                "at": now,
                "previous_lead_unit": lead["code"] if lead else None,
                "lead_unit": lead["code"] if lead else None,
            },
        ],
    }
    try:
        return await store.save_aggregate(routes, doc, changes, [event])
    except store.VersionConflict as exc:
        raise RouteChanged("the route changed meanwhile; read it again") from exc


async def decide_dispute(
    case_id: str,
    change: Correction,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    if_match: str | None = None,
) -> dict[str, Any]:
    """The joint conference's decision on a disputed case: the lead unit it names, for good."""
    if not caller.county_wide:
        raise NotEntitled("only the joint conference (a supervisor or county leader) decides a dispute")
    doc = await _current(routes, case_id, if_match)
    if doc.get("status") != "disputed":
        raise RouteConflict("the case is not in the joint conference queue")
    if change.lead_unit is None:
        raise InvalidCorrection([("lead_unit", "the joint conference names the lead unit")])
    return await _apply_correction(
        doc,
        change,
        kind="conference",
        excluded=[],  # the conference may name a unit that returned the case
        who=f"joint conference ({caller.subject})",
        extra={"status": "routed", "final": True, "decided_in_conference_at": clock.now()},
        caller=caller,
        routes=routes,
        engine=engine,
        clock=clock,
    )
