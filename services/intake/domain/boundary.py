"""The county's outer boundary, to tell a matter of another county by its coordinates."""

import json
from pathlib import Path

from shapely.geometry import Point, shape
from shapely.prepared import prep


class CountyBoundary:
    """The county polygon of a county package."""

    def __init__(self, county_dir: Path) -> None:
        geography = json.loads((county_dir / "geography.geojson").read_text(encoding="utf-8"))
        county = next(f for f in geography["features"] if f["properties"].get("level") == "county")
        self._shape = prep(shape(county["geometry"]))

    def contains(self, lon: float | None, lat: float | None) -> bool:
        """True when the point lies in the county (on the border counts as inside)."""
        if lon is None or lat is None:
            return False
        return bool(self._shape.intersects(Point(lon, lat)))
