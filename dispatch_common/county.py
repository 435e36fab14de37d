"""The little every service may read from the county package: its code, its name and what its area
levels mean. Routing owns the rest."""

import json
from functools import cache
from pathlib import Path

LEVEL_ALIASES: dict[str, str] = {
    "county": "county",
    "district": "county",
    "town": "town",
    "street": "town",
    "township": "town",
    "village": "village",
    "community": "village",
    "grid": "grid",
}
"""Administrative level words of geography.geojson, mapped to the four levels: county, town, village,
grid."""


@cache
def _county_area(county_dir: Path) -> dict[str, str]:
    geography = json.loads((county_dir / "geography.geojson").read_text(encoding="utf-8"))
    for feature in geography["features"]:
        props = feature["properties"]
        if props.get("level") == "county":
            return {"code": str(props["code"]), "name": str(props["name"])}
    raise ValueError(f"{county_dir}: no area of level 'county' in geography.geojson")


def county_code(county_dir: Path) -> str:
    """The code of the county (the area of level `county`) in a county package."""
    return _county_area(county_dir)["code"]


def county_name(county_dir: Path) -> str:
    """The county's name, as notices sign it."""
    return _county_area(county_dir)["name"]
