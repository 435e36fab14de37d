"""The routing decision for one case: where, what, who leads, who assists, how urgent, which queue.

Pure: the same request, package, locator and classifier always give the same decision.
"""

from __future__ import annotations

from dispatch_common.phrases import drop_contained, negated, phrase_matcher

from .classify import CategoryClassifier, normalize_text
from .county import CountyPackage, Unit
from .flags import detect_flags
from .geo import AddressMatch, Locator
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
) -> RouteDecision:
    """Decide a case. A person's correction comes in as a given `category` or `jurisdiction`, which
    replace what routing would find; `exclude_units` are units that returned the case (退单)."""
    rules = package.rules
    explanation: list[str] = []
    manual: list[str] = []

    if jurisdiction is None:
        jurisdiction = _locate(request, package, locator, explanation, manual)
    else:
        explanation.append(f"Location set by a person: {_describe(package, jurisdiction)}.")

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


# -- jurisdiction ------------------------------------------------------------------------------


def _describe(package: CountyPackage, jur: Jurisdiction) -> str:
    parts = [
        f"{package.area_name(code)} ({code})"
        for code in (jur.town, jur.village, jur.grid)
        if code is not None
    ]
    return " / ".join(parts) if parts else "nowhere"


def _locate(
    request: RouteRequest,
    package: CountyPackage,
    locator: Locator,
    explanation: list[str],
    manual: list[str],
) -> Jurisdiction:
    by_name = locator.match_address(request.address) if request.address else None

    if request.lon is not None and request.lat is not None:
        point = locator.locate_point(request.lon, request.lat)
        if point is None and locator.in_county(request.lon, request.lat):
            explanation.append(
                f"Location: coordinates ({request.lon}, {request.lat}) lie in the county but in no town of "
                "the geography (a gap in the package); no jurisdiction is assumed."
            )
            manual.append("coordinates in no area of the county's geography: to be placed by a dispatcher")
            return Jurisdiction(source="none")
        if point is None:
            explanation.append(
                f"Location: coordinates ({request.lon}, {request.lat}) lie outside the county "
                f"{package.area_name(package.county_code)}; no jurisdiction is assumed."
            )
            if by_name and by_name.jurisdiction:
                explanation.append(
                    f"Location: the address would point to {_describe(package, by_name.jurisdiction)}, "
                    "but it is not used against coordinates outside the county."
                )
            manual.append(
                "coordinates lie outside the county (辖区外): to be transferred, not dispatched here"
            )
            return Jurisdiction(source="none")
        explanation.append(f"Location by coordinates (坐标): {_describe(package, point)}.")
        if by_name and by_name.jurisdiction:
            other = by_name.jurisdiction
            if other.town != point.town or (other.village and other.village != point.village):
                explanation.append(
                    f"Location conflict: the address points to {_describe(package, other)}; "
                    "coordinates take precedence."
                )
        return point
    if (request.lon is None) != (request.lat is None):
        explanation.append("Location: only one of lon/lat given; coordinates ignored.")

    home = _home_marker(request, by_name, package.rules.places.home_markers)
    by_text = None
    if home is not None:
        # the text read without the home it may name too (我家住在<home>，<place>...)
        text = request.text
        home_names = by_name.jurisdiction.matched if by_name and by_name.jurisdiction else None
        for name in (home_names or "").split("、"):
            text = text.replace(name, "，") if name else text
        by_text = locator.match_address(text)
    sources: list[tuple[str, AddressMatch | None]] = [("address", by_name), ("text", by_text)]
    if by_text is not None and by_text.jurisdiction is not None and by_text.jurisdiction.town is not None:
        explanation.append(
            f"Location: the address is the caller's home ('{home}'); the place the text names is "
            "where the matter is."
        )
        sources.reverse()
    found: Jurisdiction | None = None
    for label, match in sources:
        if label == "text" and found is not None and found.village is not None:
            break
        if label == "text" and match is None:
            match = by_text = locator.match_address(request.text)
        if match is None:
            continue
        for conflict in match.conflicts:
            explanation.append(f"Location note ({label}): {conflict}.")
        jur = match.jurisdiction
        if jur is None:
            continue
        if found is None:
            found = jur
            how = "gazetteer (地名库)" if jur.source == "gazetteer" else "area name (区划名称)"
            explanation.append(
                f"Location by {how} in the {label} ('{jur.matched}'): {_describe(package, jur)}."
                + _reading(match)
            )
        elif jur.town == found.town and jur.village is not None and found.village is None:
            found = jur
            explanation.append(
                f"Location refined by the {label} ('{jur.matched}'): {_describe(package, jur)}."
                + _reading(match)
            )
        if home is not None and found is not None:
            break
    if found is None or found.town is None:
        ambiguous = [r for m in (by_name, by_text) if m is not None for r in m.ambiguous]
        if ambiguous:
            explanation.append(
                "Location: the names could mean places in different towns: " + "; ".join(ambiguous) + "."
            )
            manual.append("place ambiguous (地点有歧义): " + "; ".join(ambiguous))
            return Jurisdiction(source="none")
        explanation.append("Location: no coordinates and no known place name in the address or text.")
        manual.append("no usable location (无法确定属地): no coordinates and no known place name")
        return Jurisdiction(source="none")
    return found


def _reading(match: AddressMatch) -> str:
    """How a name was read, when not exactly as listed: the reasons and the confidence."""
    if match.confidence >= 1.0:
        return ""
    return f" Read so because {'; '.join(match.evidence)} (confidence {match.confidence:.2f})."


def _home_marker(request: RouteRequest, by_name: AddressMatch | None, markers: list[str]) -> str | None:
    """The words that mark the address as the caller's home: in the address itself, or in the text
    right before the place the address names (`我家住在<place>`)."""
    address, text = normalize_text(request.address), normalize_text(request.text)
    for marker in (normalize_text(m) for m in markers):
        if marker and marker in address:
            return marker
    place = by_name.jurisdiction.matched if by_name and by_name.jurisdiction else None
    for marker in (normalize_text(m) for m in markers):
        for name in (place or "").split("、"):
            at = text.find(marker) if marker and name else -1
            if at >= 0 and name in text[at : at + len(marker) + len(name) + 4]:
                return marker
    return None


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
