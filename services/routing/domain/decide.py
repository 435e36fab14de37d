"""The routing decision for one case: where, what, who leads, who assists, how urgent, which queue.

Pure: the same request, package, locator and classifier always give the same decision.
"""

from __future__ import annotations

from dispatch_common.phrases import drop_contained, negated, phrase_matcher

from .classify import CategoryClassifier, normalize_text
from .county import CountyPackage, Unit
from .flags import detect_flags
from .geo import Locator
from .learned_places import LearnedPlaces
from .locate import describe, locate
from .models import (
    CategoryChoice,
    Jurisdiction,
    RouteDecision,
    RouteRequest,
    RoutingRules,
    TierRule,
    UnitRef,
)


def decide(
    request: RouteRequest,
    package: CountyPackage,
    locator: Locator,
    classifier: CategoryClassifier,
    *,
    exclude_units: frozenset[str] = frozenset(),
    category: CategoryChoice | None = None,
    jurisdiction: Jurisdiction | None = None,
    learned_places: LearnedPlaces | None = None,
) -> RouteDecision:
    """Decide a case. A person's correction comes in as a given `category` or `jurisdiction`, which
    replace what routing would find; `exclude_units` are units that returned the case (退单)."""
    rules = package.rules
    explanation: list[str] = []
    manual: list[str] = []

    if jurisdiction is None:
        jurisdiction = locate(request, package, locator, explanation, manual, learned_places)
    else:
        explanation.append(f"Location set by a person: {describe(package, jurisdiction)}.")

    if category is None:
        category = classifier.classify(request.text)
        if request.category_hint is not None:
            category = weigh_hint(category, request.category_hint, package, explanation)
        _explain_category(category, package, rules, explanation, manual)
    else:
        tax = package.taxonomy
        sub = f" / {category.subcode} {tax.name(category.subcode)}" if category.subcode else ""
        explanation.append(f"Category set by a person: {category.code} {tax.name(category.code)}{sub}.")

    prepared = classifier.prepare(request.text)
    found = detect_flags(prepared, category, request.people_count, rules, request.earlier_cases)
    flags = [name for name, _ in found]
    for name, evidence in found:
        explanation.append(f"Flag {name}: {evidence}.")

    if "out_of_scope" in flags:
        manual.insert(
            0,
            "emergency or out of scope (紧急事项/不属受理范围): transfer to 110/119/120 "
            "or refuse with a reason; not dispatched",
        )

    lead: UnitRef | None = None
    assisting: list[UnitRef] = []
    units = [u for u in package.units if u.code not in exclude_units]
    if "out_of_scope" in flags:
        explanation.append("Lead unit: none, the case is not dispatched (out_of_scope).")
    else:
        chain = _chain(package, jurisdiction)
        if exclude_units:
            names = "、".join(sorted(exclude_units))
            explanation.append(f"Units that returned the case (退单) are left out: {names}.")
        lead = _lead_unit(units, rules, chain, category, jurisdiction, package, explanation)
        assisting = _assisting_units(units, rules, chain, flags, lead, explanation)
        if lead is None:
            manual.append("no lead unit (无承办单位): no unit is competent here")

    tier = _tier(rules, flags, category, request, prepared, explanation)
    if lead is not None:
        assisting += _tier_units(
            units, rules, _chain(package, jurisdiction), tier, lead, assisting, explanation
        )

    queue = "manual" if manual else "auto"
    if manual:
        explanation.append("Queue manual (人工派单): " + "; ".join(manual) + ".")
    else:
        explanation.append("Queue auto (自动派单): location, category and lead unit are all determined.")
    return RouteDecision(
        jurisdiction=jurisdiction,
        category=category,
        flags=flags,
        lead_unit=lead,
        assisting_units=assisting,
        tier=tier,
        queue=queue,
        explanation=explanation,
        manual_reason="; ".join(manual) if manual else None,
    )


# -- category ----------------------------------------------------------------------------------


def weigh_hint(
    category: CategoryChoice, hint: str, package: CountyPackage, explanation: list[str]
) -> CategoryChoice:
    """The text's category, or, where its evidence is below the manual threshold, the category the
    submitter chose (an Open311 service_code) with the county's confidence for it; said either way."""
    tax, threshold = package.taxonomy, package.rules.manual_confidence_threshold
    if hint not in tax:
        explanation.append(f"The submitter's category {hint} is not in the taxonomy; it is not used.")
        return category
    first = tax.first_level(hint)
    chosen = f"{hint} {tax.name(hint)}"
    if category.code is not None and category.confidence >= threshold:
        if category.code != first:
            explanation.append(
                f"The submitter chose {chosen}; the text points to {category.code} {tax.name(category.code)} "
                f"with confidence {category.confidence:.2f} ≥ {threshold:.2f}: the text's category is kept."
            )
            return category
        if hint != first and category.subcode is None:
            explanation.append(
                f"The submitter's category {chosen} agrees with the text and names its subcategory."
            )
            return category.model_copy(update={"subcode": hint})
        explanation.append(f"The submitter's category {chosen} agrees with the text.")
        return category
    found = f"{category.code} {tax.name(category.code)}, confidence {category.confidence:.2f}"
    weak = f"weak ({found} < {threshold:.2f})" if category.code is not None else "absent"
    confidence = package.rules.category_hint.confidence
    if category.code == first:
        confidence = max(confidence, category.confidence)
    explanation.append(
        f"The text's own evidence is {weak}: the submitter's category {chosen} is taken "
        f"(Open311 service_code, confidence {confidence:.2f})."
    )
    children = tax.children(first) if first else []
    subcode = hint if hint != first else (children[0] if len(children) == 1 else None)
    evidence = [*(category.evidence if category.code == first else []), f"service_code {hint}"]
    return CategoryChoice(code=first, subcode=subcode, confidence=round(confidence, 3), evidence=evidence)


def _explain_category(
    category: CategoryChoice,
    package: CountyPackage,
    rules: RoutingRules,
    explanation: list[str],
    manual: list[str],
) -> None:
    tax = package.taxonomy
    threshold = rules.manual_confidence_threshold
    if category.code is None:
        explanation.append("Category: no phrase of the lexicon matched.")
        manual.append("category unknown (无法分类): no evidence in the text")
        return
    sub = f" / {category.subcode} {tax.name(category.subcode)}" if category.subcode else ""
    evidence = "、".join(category.evidence)
    explanation.append(
        f"Category {category.code} {tax.name(category.code)}{sub}: confidence {category.confidence:.2f} "
        f"from {evidence}."
    )
    if category.confidence < threshold:
        manual.append(
            f"category uncertain (分类置信度低): confidence {category.confidence:.2f} < {threshold:.2f}"
        )


# -- units -------------------------------------------------------------------------------------


def _chain(package: CountyPackage, jur: Jurisdiction) -> list[str]:
    """Areas containing the case, most specific first; only the county when the place is unknown."""
    area = jur.most_specific
    return package.ancestors(area) if area else [package.county_code]


def _most_specific(units: list[Unit], chain: list[str]) -> Unit | None:
    rank = {code: i for i, code in enumerate(chain)}
    inside = [u for u in units if u.jurisdiction in rank]
    if not inside:
        return None
    return min(inside, key=lambda u: rank[u.jurisdiction])  # stable: file order breaks ties


def _ref(unit: Unit, role: str) -> UnitRef:
    return UnitRef(code=unit.code, name=unit.name, type=unit.type, role=role)


def _lead_unit(
    units: list[Unit],
    rules: RoutingRules,
    chain: list[str],
    category: CategoryChoice,
    jur: Jurisdiction,
    package: CountyPackage,
    explanation: list[str],
) -> UnitRef | None:
    place = "its area" if jur.town else "county level (place unknown)"
    for code in (category.subcode, category.code):
        if code is None:
            continue
        unit = _most_specific([u for u in units if code in u.categories], chain)
        if unit is not None:
            explanation.append(
                f"Lead unit (主办): {unit.name} ({unit.code}), competent for {code} at "
                f"{package.areas[unit.jurisdiction].level} level, the most specific in {place}."
            )
            return _ref(unit, "lead")
    for unit_type in rules.fallback_lead_types:
        unit = _most_specific([u for u in units if u.type == unit_type], chain)
        if unit is not None:
            explanation.append(
                f"Lead unit (主办): {unit.name} ({unit.code}): no unit is competent for the category, "
                f"fallback type {unit_type}."
            )
            return _ref(unit, "lead")
    explanation.append("Lead unit: none found.")
    return None


def _assisting_units(
    units: list[Unit],
    rules: RoutingRules,
    chain: list[str],
    flags: list[str],
    lead: UnitRef | None,
    explanation: list[str],
) -> list[UnitRef]:
    out: list[UnitRef] = []
    taken = {lead.code} if lead else set()
    for flag in flags:
        for unit_type in rules.flag_unit_types.get(flag, []):
            unit = _most_specific([u for u in units if u.type == unit_type], chain)
            if unit is None:
                continue
            if unit.code in taken:
                explanation.append(f"Flag {flag}: {unit.name} is on the case already.")
            else:
                taken.add(unit.code)
                out.append(_ref(unit, flag))
                explanation.append(f"Assisting (协办) for {flag}: {unit.name} ({unit.code}).")
            break
    return out


def _tier_units(
    units: list[Unit],
    rules: RoutingRules,
    chain: list[str],
    tier: str,
    lead: UnitRef,
    assisting: list[UnitRef],
    explanation: list[str],
) -> list[UnitRef]:
    """The level a key or major matter goes up to (三级代办): e.g. the town's leadership, the joint
    conference; the most specific unit of each type the rules name for the tier."""
    out: list[UnitRef] = []
    taken = {lead.code, *(u.code for u in assisting)}
    for unit_type in rules.tier_unit_types.get(tier, []):
        unit = _most_specific([u for u in units if u.type == unit_type], chain)
        if unit is None or unit.code in taken:
            continue
        taken.add(unit.code)
        out.append(_ref(unit, f"tier:{tier}"))
        explanation.append(f"Tier {tier} brings in (三级代办) {unit.name} ({unit.code}).")
    return out


# -- tier --------------------------------------------------------------------------------------


def _tier_phrase(rule: TierRule, text: str, gap: int) -> str | None:
    """The first phrase of a tier rule in the text, matched as flags and categories are (``a…b``,
    the longest match), and not negated right before it (rule.negators)."""
    if not rule.phrases:
        return None
    matcher = phrase_matcher(tuple(rule.phrases))
    negators = sorted({normalize_text(n) for n in rule.negators if n}, key=len, reverse=True)
    for m in drop_contained(matcher.find(text)):
        if not negated(text, m.start, negators, gap):
            return m.phrase
    return None


def _tier(
    rules: RoutingRules,
    flags: list[str],
    category: CategoryChoice,
    request: RouteRequest,
    prepared_text: str,
    explanation: list[str],
) -> str:
    codes = {c for c in (category.code, category.subcode) if c}
    people, earlier = request.people_count, request.earlier_cases
    for rule in rules.tiers:
        why: str | None = None
        if rule.min_people is not None and people is not None and people >= rule.min_people:
            why = f"people_count {people} >= {rule.min_people}"
        elif rule.min_earlier_cases is not None and earlier >= rule.min_earlier_cases:
            why = f"the petitioner's {earlier} earlier cases >= {rule.min_earlier_cases} (积案)"
        elif rule.repeat and request.repeat:
            why = "a repeat petition (重复件)"
        elif set(rule.flags) & set(flags):
            why = "flag " + ", ".join(sorted(set(rule.flags) & set(flags)))
        elif codes & set(rule.categories):
            why = "category " + ", ".join(sorted(codes & set(rule.categories)))
        else:
            hit = _tier_phrase(rule, prepared_text, rules.negation_gap)
            if hit:
                why = f"phrase '{hit}'"
        if why:
            explanation.append(f"Tier {rule.tier}: {why}.")
            return rule.tier
    explanation.append(f"Tier {rules.default_tier}: no tier rule applies.")
    return rules.default_tier
