"""Where a case lies, for the routing decision: coordinates first, else the names in the address and
the text (geo.py reads them), the caller's home set aside; each step said in the explanation."""

from __future__ import annotations

from dispatch_common.phrases import normalize_text

from .county import CountyPackage
from .geo import AddressMatch, Locator
from .learned_places import LearnedPlaces
from .models import Jurisdiction, RouteRequest


def describe(package: CountyPackage, jur: Jurisdiction) -> str:
    parts = [
        f"{package.area_name(code)} ({code})"
        for code in (jur.town, jur.village, jur.grid)
        if code is not None
    ]
    return " / ".join(parts) if parts else "nowhere"


def locate(
    request: RouteRequest,
    package: CountyPackage,
    locator: Locator,
    explanation: list[str],
    manual: list[str],
    learned: LearnedPlaces | None = None,
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
                    f"Location: the address would point to {describe(package, by_name.jurisdiction)}, "
                    "but it is not used against coordinates outside the county."
                )
            manual.append(
                "coordinates lie outside the county (辖区外): to be transferred, not dispatched here"
            )
            return Jurisdiction(source="none")
        explanation.append(f"Location by coordinates (坐标): {describe(package, point)}.")
        if by_name and by_name.jurisdiction:
            other = by_name.jurisdiction
            if other.town != point.town or (other.village and other.village != point.village):
                explanation.append(
                    f"Location conflict: the address points to {describe(package, other)}; "
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
                f"Location by {how} in the {label} ('{jur.matched}'): {describe(package, jur)}."
                + _reading(match)
            )
        elif jur.town == found.town and jur.village is not None and found.village is None:
            found = jur
            explanation.append(
                f"Location refined by the {label} ('{jur.matched}'): {describe(package, jur)}."
                + _reading(match)
            )
        if home is not None and found is not None:
            break
    if (found is None or found.town is None) and learned is not None and request.address:
        place = learned.match(request.address)
        if place is not None:
            area = package.areas[place.area]
            found = Jurisdiction(
                town=package.town_of(area.code),
                village=package.village_of(area.code),
                grid=area.code if area.level == "grid" else None,
                source="learned",
                matched=place.name,
            )
            explanation.append(
                f"Location by a name people placed before ('{place.name}', {place.corrections} "
                f"corrections agree): {describe(package, found)}."
            )
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
