"""Routing's commands: route a screened case, and the corrections people make to a route.

- route a screened case once (revision 1), with its explanation;
- a dispatcher's override (改派), which is also how a case in the manual queue is placed;
- a unit's return (退单) within the time limit, after which routing decides again without that unit;
- a dispute (争议管辖) when a case is returned a second time, when an assisting unit refuses its
  share, or when no other unit is competent; the joint conference's decision ends it.

Every change is a new revision of the route document with who, when and why, an event
(`dispatch.case.rerouted`, `dispatch.case.route_disputed`), and, where a person set the
category, a labelled example for the classifier. Writes are version-guarded: a route changed
meanwhile answers a conflict instead of being overwritten.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from dispatch_common.workdays import WorkingCalendar
from services.routing.domain.confidential import correction_problems
from services.routing.domain.events import (
    Actor,
    CaseRerouted,
    CaseRouted,
    CaseRouteDisputed,
    CaseScreenedView,
    Return,
)
from services.routing.domain.models import CategoryChoice, Jurisdiction, RouteDecision, RouteRequest, UnitRef
from services.routing.engine import RoutingEngine

SOURCE = "/dispatch/routing"
ROUTED_OUTCOMES = frozenset({"accepted"})
# Which roles override, return and decide disputes is the authorization table's
# (data/policy/authorization.yaml); here, the scope they act with: the county for overrides and the
# joint conference (联席会议), a unit for its returns.


class RouteNotFound(Exception):
    """No route for that case (not routed yet, or not accepted at intake)."""


class RouteConflict(Exception):
    """The route's state does not allow the action; the message says why."""


class NotEntitled(Exception):
    """The caller may not take this action on this route."""


class InvalidCorrection(ValueError):
    """A correction naming unknown or inconsistent codes; `errors` are (field, reason) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors))


@dataclass(frozen=True)
class Correction:
    """What a person sets on a route; fields left None keep routing's decision."""

    reason: str
    lead_unit: str | None = None
    assisting_units: list[str] | None = None
    category: str | None = None
    subcategory: str | None = None
    tier: str | None = None
    area: str | None = None  # a town, village or grid code: the jurisdiction, set by a person


@dataclass(frozen=True)
class ReturnPolicy:
    """How long a unit may return a case, in working days of the county."""

    working_days: int
    calendar: WorkingCalendar
    timezone: ZoneInfo


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


def _actor(caller: Principal) -> Actor:
    return Actor(subject=caller.subject, role=caller.role.value, unit=caller.unit)


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
    request = request_of(case)
    decision = await decide_off_loop(engine, request)
    now = clock.now()
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
    }
    announce = make_event(
        type=subjects.CASE_ROUTED,
        source=SOURCE,
        subject=case.case_id,
        clock=clock,
        event_id=derived_event_id(consumer, event.id, subjects.CASE_ROUTED),
        data=CaseRouted.of(
            case_id=case.case_id, case_no=case.case_no, decision=decision, package_version=engine.version
        ),
    )
    await store.insert_aggregate(routes, doc, [announce])  # False: routed before, nothing more to do
    return decision


async def _current(routes: AsyncCollection, case_id: str) -> dict[str, Any]:
    doc = await routes.find_one({"_id": case_id})
    if doc is None:
        raise RouteNotFound(f"no route for case {case_id}")
    return doc


# -- corrections ---------------------------------------------------------------------------------


def _validate(change: Correction, engine: RoutingEngine) -> dict[str, Any]:
    """Check every code of a correction against the county package; the forced category and place."""
    pkg = engine.package
    errors: list[tuple[str, str]] = []
    units = {u.code for u in pkg.units}
    if change.lead_unit is not None and change.lead_unit not in units:
        errors.append(("lead_unit", f"unknown unit {change.lead_unit}"))
    for i, code in enumerate(change.assisting_units or []):
        if code not in units:
            errors.append((f"assisting_units.{i}", f"unknown unit {code}"))
        elif code == change.lead_unit:
            errors.append((f"assisting_units.{i}", "the lead unit cannot also assist"))
    forced: dict[str, Any] = {}
    tax = pkg.taxonomy
    category, sub = change.category, change.subcategory
    if sub is not None:
        parent = tax.first_level(sub)
        if sub not in tax.sub:
            errors.append(("subcategory", f"unknown second-level category {sub}"))
        elif category is not None and parent != category:
            errors.append(("subcategory", f"{sub} is not a child of {category}"))
        else:
            category = parent
    if category is not None:
        if category not in tax.first:
            errors.append(("category", f"unknown first-level category {category}"))
        else:
            forced["category"] = {"code": category, "subcode": sub}
    tiers = {pkg.rules.default_tier, *(t.tier for t in pkg.rules.tiers)}
    if change.tier is not None and change.tier not in tiers:
        errors.append(("tier", f"unknown tier {change.tier}; known: {sorted(tiers)}"))
    if change.area is not None:
        area = pkg.areas.get(change.area)
        if area is None or area.level == "county":
            errors.append(("area", f"unknown town, village or grid {change.area}"))
        else:
            forced["area"] = change.area
    if errors:
        raise InvalidCorrection(errors)
    return forced


def _forced_inputs(
    forced: dict[str, Any], engine: RoutingEngine
) -> tuple[CategoryChoice | None, Jurisdiction | None]:
    pkg = engine.package
    category = None
    if forced.get("category"):
        c = forced["category"]
        category = CategoryChoice(
            code=c["code"], subcode=c.get("subcode"), confidence=1.0, evidence=["person"]
        )
    jurisdiction = None
    if forced.get("area"):
        code = forced["area"]
        level = pkg.areas[code].level
        jurisdiction = Jurisdiction(
            town=pkg.town_of(code),
            village=pkg.village_of(code),
            grid=code if level == "grid" else None,
            source="person",
            matched=pkg.area_name(code),
        )
    return category, jurisdiction


async def decide_off_loop(engine: RoutingEngine, request: RouteRequest, **corrections: Any) -> RouteDecision:
    """The engine's decision, computed in a thread: its cost grows with the text (up to 5,000
    characters), and the event loop keeps answering and acknowledging meanwhile."""
    return await asyncio.to_thread(engine.decide, request, **corrections)


async def _redecide(
    doc: dict[str, Any], engine: RoutingEngine, excluded: list[str], forced: dict[str, Any]
) -> RouteDecision:
    category, jurisdiction = _forced_inputs(forced, engine)
    return await decide_off_loop(
        engine,
        RouteRequest.model_validate(doc["request"]),
        exclude_units=frozenset(excluded),
        category=category,
        jurisdiction=jurisdiction,
    )


def _unit_ref(engine: RoutingEngine, code: str, role: str) -> UnitRef:
    unit = next(u for u in engine.package.units if u.code == code)
    return UnitRef(code=unit.code, name=unit.name, type=unit.type, role=role)


def _with_people(
    decision: RouteDecision, change: Correction, engine: RoutingEngine, who: str
) -> RouteDecision:
    """Apply the units and tier a person set on top of routing's decision."""
    explanation = list(decision.explanation)
    lead = decision.lead_unit
    assisting = list(decision.assisting_units)
    if change.lead_unit is not None:
        lead = _unit_ref(engine, change.lead_unit, "lead")
        assisting = [u for u in assisting if u.code != lead.code]
        explanation.append(f"Lead unit set by {who}: {lead.name} ({lead.code}).")
    if change.assisting_units is not None:
        assisting = [_unit_ref(engine, code, "assist") for code in change.assisting_units]
        names = "、".join(u.name for u in assisting) or "none"
        explanation.append(f"Assisting units set by {who}: {names}.")
    tier = decision.tier
    if change.tier is not None:
        tier = change.tier
        explanation.append(f"Tier set by {who}: {tier}.")
    queue = "auto" if lead is not None else "manual"
    manual_reason = None if lead is not None else (decision.manual_reason or "no lead unit (无承办单位)")
    explanation = [line for line in explanation if not line.startswith("Queue ")]  # decided anew below
    explanation.append(f"Reason ({who}): {change.reason}")
    explanation.append(
        f"Queue auto: placed by {who}." if lead is not None else f"Queue manual (人工派单): {manual_reason}."
    )
    return decision.model_copy(
        update={
            "lead_unit": lead,
            "assisting_units": assisting,
            "tier": tier,
            "queue": queue,
            "manual_reason": manual_reason,
            "explanation": explanation,
        }
    )


def _rerouted_event(
    doc: dict[str, Any],
    decision: RouteDecision,
    *,
    revision: int,
    cause: str,
    reason: str,
    caller: Principal,
    engine: RoutingEngine,
    clock: Clock,
) -> Envelope:
    previous = doc["decision"].get("lead_unit")
    return make_event(
        type=subjects.CASE_REROUTED,
        source=SOURCE,
        subject=doc["_id"],
        clock=clock,
        event_id=derived_event_id("routing", doc["_id"], subjects.CASE_REROUTED, str(revision)),
        data=CaseRerouted(
            **CaseRouted.of(
                case_id=doc["_id"], case_no=doc["case_no"], decision=decision, package_version=engine.version
            ).model_dump(),
            revision=revision,
            cause=cause,  # type: ignore[arg-type]
            reason=reason,
            decided_by=_actor(caller),
            previous_lead_unit=UnitRef.model_validate(previous) if previous else None,
        ),
    )


def _correction_entry(
    doc: dict[str, Any], *, kind: str, caller: Principal, reason: str, now: datetime, lead: UnitRef | None
) -> dict[str, Any]:
    previous = doc["decision"].get("lead_unit")
    return {
        "revision": doc["revision"] + 1,
        "kind": kind,
        "by": _actor(caller).model_dump(),
        "reason": reason,
        "at": now,
        "previous_lead_unit": previous["code"] if previous else None,
        "lead_unit": lead.code if lead else None,
    }


async def _save_revision(
    routes: AsyncCollection,
    doc: dict[str, Any],
    decision: RouteDecision,
    *,
    kind: str,
    cause: str,
    change: Correction,
    caller: Principal,
    engine: RoutingEngine,
    clock: Clock,
    extra: dict[str, Any],
    label: bool,
) -> dict[str, Any]:
    now = clock.now()
    revision = doc["revision"] + 1
    event = _rerouted_event(
        doc,
        decision,
        revision=revision,
        cause=cause,
        reason=change.reason,
        caller=caller,
        engine=engine,
        clock=clock,
    )
    changes: dict[str, Any] = {
        "decision": decision.model_dump(mode="json"),
        "package_version": engine.version,
        "decided_at": now,
        "assigned_at": now if decision.queue == "auto" and decision.lead_unit else None,
        "revision": revision,
        "corrections": [
            *doc.get("corrections", []),
            _correction_entry(
                doc, kind=kind, caller=caller, reason=change.reason, now=now, lead=decision.lead_unit
            ),
        ],
        **extra,
    }
    if label and decision.category.code:
        # A person set the category: a labelled example for the classifier.
        changes |= {
            "labelled": True,
            "label": {
                "code": decision.category.code,
                "subcode": decision.category.subcode,
                "by": caller.subject,
                "at": now,
            },
        }
    try:
        return await store.save_aggregate(routes, doc, changes, [event])
    except store.VersionConflict as exc:
        raise RouteConflict("the route changed meanwhile; read it again and redo the correction") from exc


async def override_route(
    case_id: str,
    change: Correction,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
) -> dict[str, Any]:
    """A dispatcher's override (改派), or the placement of a case from the manual queue."""
    if not caller.county_wide:
        raise NotEntitled("only a dispatcher or supervisor may override a route")
    doc = await _current(routes, case_id)
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
    if decision.lead_unit is None:
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


async def return_route(
    case_id: str,
    reason: str,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
    policy: ReturnPolicy,
) -> dict[str, Any]:
    """A unit's return (退单): routed again without it, or to the joint conference."""
    if caller.county_wide or not caller.unit:
        raise NotEntitled("only a handler or leader of a unit may return a case")
    doc = await _current(routes, case_id)
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
        raise RouteConflict("the route changed meanwhile; read it again") from exc


async def decide_dispute(
    case_id: str,
    change: Correction,
    *,
    caller: Principal,
    routes: AsyncCollection,
    engine: RoutingEngine,
    clock: Clock,
) -> dict[str, Any]:
    """The joint conference's decision on a disputed case: the lead unit it names, for good."""
    if not caller.county_wide:
        raise NotEntitled("only the joint conference (a supervisor or county leader) decides a dispute")
    doc = await _current(routes, case_id)
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
