"""What every correction of a route shares: the refusals, the correction itself, deciding again with
what people set, and saving the next revision.

Every change is a new revision of the route document with who, when and why, an event
(`dispatch.case.rerouted`, `dispatch.case.route_disputed`), and, where a person set the
category, a labelled example for the classifier. Writes are version-guarded: a route changed
meanwhile answers a conflict instead of being overwritten.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import etag, store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.routing.domain.events import (
    Actor,
    CaseRerouted,
    CaseRouted,
)
from services.routing.domain.models import CategoryChoice, Jurisdiction, RouteDecision, RouteRequest, UnitRef
from services.routing.engine import RoutingEngine
from services.routing.handlers import SOURCE, decide_off_loop

# Which roles override, return and decide disputes is the authorization table's
# (data/policy/authorization.yaml); here, the scope they act with: the county for overrides and the
# joint conference (联席会议), a unit for its returns.


class RouteNotFound(Exception):
    """No route for that case (not routed yet, or not accepted at intake)."""


class RouteConflict(Exception):
    """The route's state does not allow the action; the message says why."""


class RouteChanged(RouteConflict):
    """The route changed between reading and writing it (a race lost at the version guard)."""


class StaleRoute(Exception):
    """The caller's If-Match names a version the route is no longer at; `version`: the current one."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"the route is at version {version}")


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


def _actor(caller: Principal) -> Actor:
    return Actor(subject=caller.subject, role=caller.role.value, unit=caller.unit)


async def _current(routes: AsyncCollection, case_id: str, if_match: str | None = None) -> dict[str, Any]:
    """The route as stored, if it is still the version the caller's If-Match names (StaleRoute)."""
    doc = await routes.find_one({"_id": case_id})
    if doc is None:
        raise RouteNotFound(f"no route for case {case_id}")
    if not etag.matches(if_match, doc["version"]):
        raise StaleRoute(doc["version"])
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
        "incident": None,  # a person's route is the case's own: it no longer follows an incident's lead
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
        raise RouteChanged("the route changed meanwhile; read it again and redo the correction") from exc
