"""Routing a confidential report (检举控告): to the county's discipline-inspection unit, or to a person.

The accused is often the place's own town government, police station or committee, or a unit the
category would name; so neither the place nor the text decides anything. Intake sends no text and
nothing below the town for such a case, and routing names only a county-level unit of the types the
county package lists (routing_rules.json, `confidential`): no flags, no assisting units, no units a
tier brings in. Without such a unit the case waits in the manual queue. Pure.
"""

from __future__ import annotations

from dispatch_common.county import LEVEL_ALIASES

from .county import CountyPackage, Unit
from .models import CategoryChoice, Jurisdiction, RouteDecision, UnitRef

EVIDENCE = "confidential report (检举控告)"


def takers(package: CountyPackage, exclude_units: frozenset[str] = frozenset()) -> list[Unit]:
    """County-level units of the types that take confidential reports, in the package's order of types."""
    conf = package.rules.confidential
    return [
        u
        for unit_type in conf.unit_types
        for u in package.units
        if u.type == unit_type and LEVEL_ALIASES.get(u.level) == "county" and u.code not in exclude_units
    ]


def decide_confidential(
    package: CountyPackage,
    *,
    exclude_units: frozenset[str] = frozenset(),
    category: CategoryChoice | None = None,
) -> RouteDecision:
    """The decision for a confidential report: the first county-level unit that takes such reports."""
    conf = package.rules.confidential
    explanation = [
        "Confidential report (检举控告): the place and the text are not used; only a county-level unit "
        f"of the types the county package names ({'、'.join(conf.unit_types)}) takes it."
    ]
    if category is None:
        category = CategoryChoice(
            code=conf.category, subcode=conf.subcategory, confidence=1.0, evidence=[EVIDENCE]
        )
        explanation.append(f"Category {conf.category or 'none'}: set by the county package for such reports.")
    else:
        explanation.append(f"Category set by a person: {category.code}.")
    if exclude_units:
        explanation.append(
            f"Units that returned the case (退单) are left out: {'、'.join(sorted(exclude_units))}."
        )
    found = takers(package, exclude_units)
    lead = UnitRef(code=found[0].code, name=found[0].name, type=found[0].type, role="lead") if found else None
    manual_reason = None
    if lead is not None:
        explanation.append(f"Lead unit (主办): {lead.name} ({lead.code}); no assisting units, no flags.")
        explanation.append("Queue auto (自动派单): a unit that takes confidential reports has it.")
    else:
        manual_reason = "confidential report: no county-level unit takes it (无受理单位)"
        explanation.append(f"Queue manual (人工派单): {manual_reason}.")
    return RouteDecision(
        jurisdiction=Jurisdiction(source="none"),
        category=category,
        flags=[],
        lead_unit=lead,
        assisting_units=[],
        tier=package.rules.default_tier,
        queue="auto" if lead is not None else "manual",
        explanation=explanation,
        manual_reason=manual_reason,
        confidential=True,
    )


def correction_problems(
    package: CountyPackage, *, lead_unit: str | None, assisting_units: list[str] | None, area: str | None
) -> list[tuple[str, str]]:
    """What a person may not set on a confidential route: a place, or a unit that does not take
    confidential reports (the accused's own units must never get it by a correction either)."""
    allowed = {u.code for u in takers(package)}
    problems: list[tuple[str, str]] = []
    if area is not None:
        problems.append(("area", "a confidential report is not placed: its place may point at the accused"))
    if lead_unit is not None and lead_unit not in allowed:
        problems.append(("lead_unit", f"{lead_unit} does not take confidential reports"))
    for i, code in enumerate(assisting_units or []):
        if code not in allowed:
            problems.append((f"assisting_units.{i}", f"{code} does not take confidential reports"))
    return problems
