"""Where a ledger entry lies, resolved as a case's place is: by routing's place matching.

The county package's geography and gazetteer are read by routing's `Locator`
(services/routing/domain/geo.py): an area code of the package is taken as it is, coordinates are
placed by point in polygon, an address by the gazetteer and the area names. The code is routing's,
imported, not copied (decision 0039); the package is loaded once, when the first entry is placed.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.routing.domain.county import CountyPackage
from services.routing.domain.geo import Locator


class Unplaced(ValueError):
    """Nothing in what was given places the entry in the county (a 422 on `place`)."""


@dataclass
class Places:
    """The county package's place matching, loaded on first use."""

    county_dir: Path
    _locator: Locator | None = field(default=None, init=False, repr=False)

    @property
    def locator(self) -> Locator:
        if self._locator is None:
            self._locator = Locator(CountyPackage.from_dir(self.county_dir))
        return self._locator

    def resolve(
        self,
        *,
        area: str | None = None,
        lon: float | None = None,
        lat: float | None = None,
        address: str | None = None,
    ) -> dict[str, Any]:
        """The town, village and grid of an area code, a point or an address (in that order of trust),
        with how it was placed; Unplaced when none of them is in the county."""
        locator = self.locator
        package = locator.package
        if area:
            found = package.areas.get(area)
            if found is None or found.level not in ("town", "village", "grid"):
                raise Unplaced(f"{area} is not a town, village or grid of the county package")
            return {
                "town": package.town_of(area),
                "village": package.village_of(area),
                "grid": area if found.level == "grid" else None,
                "source": "area_code",
                "matched": found.name,
            }
        if lon is not None and lat is not None:
            point = locator.locate_point(lon, lat)
            if point is None:
                raise Unplaced(f"({lon}, {lat}) is outside the county")
            return point.model_dump(mode="json")
        if address:
            match = locator.match_address(address)
            if match.jurisdiction is None or not match.jurisdiction.town:
                why = "; ".join(match.conflicts) or "no place name of the county in it"
                raise Unplaced(f"the address does not place the entry: {why}")
            return match.jurisdiction.model_dump(mode="json")
        raise Unplaced("give an area code, coordinates or an address")

    def area_name(self, code: str | None) -> str | None:
        """An area's name in the package, for views."""
        return self.locator.package.area_name(code) if code else None
