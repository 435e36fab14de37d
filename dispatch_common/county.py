"""The little every service may read from the county package: its code, its name, what its area
levels mean, and who takes and reads confidential reports. Routing owns the rest."""

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.auth import Role

RULES_FILE = "routing_rules.json"
CONFIDENTIAL_SECTION = "confidential"

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


@cache
def area_names(county_dir: Path) -> dict[str, str]:
    """The name of every area of a county package (county, towns, villages, grids), by code."""
    geography = json.loads((county_dir / "geography.geojson").read_text(encoding="utf-8"))
    return {str(f["properties"]["code"]): str(f["properties"]["name"]) for f in geography["features"]}


@cache
def unit_directory(county_dir: Path) -> dict[str, dict[str, str]]:
    """Every unit of a county package (units.json) by code: its name and type."""
    units = json.loads((county_dir / "units.json").read_text(encoding="utf-8"))
    return {
        str(u["code"]): {"code": str(u["code"]), "name": str(u["name"]), "type": str(u["type"])}
        for u in units
    }


def county_code(county_dir: Path) -> str:
    """The code of the county (the area of level `county`) in a county package."""
    return _county_area(county_dir)["code"]


def county_name(county_dir: Path) -> str:
    """The county's name, as notices sign it."""
    return _county_area(county_dir)["name"]


class ConfidentialRules(BaseModel):
    """The `confidential` section of a county package's routing_rules.json (routing checks the unit
    types and categories against the rest of the package)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str | None = None
    unit_types: list[str] = Field(
        min_length=1, description="unit types that take reports against officials; a county-level one leads"
    )
    reader_roles: list[Role] = Field(
        default_factory=list,
        description="roles that read every confidential report, whoever it is assigned to",
    )
    category: str | None = Field(None, description="the category a confidential report is filed under")
    subcategory: str | None = None

    @classmethod
    def load(cls, county_dir: Path) -> "ConfidentialRules":
        """The section, from a county package folder; ValueError naming the file when absent or bad."""
        path = county_dir / RULES_FILE
        raw = json.loads(path.read_text(encoding="utf-8"))
        section = raw.get(CONFIDENTIAL_SECTION) if isinstance(raw, dict) else None
        if section is None:
            raise ValueError(
                f"{path}: no `{CONFIDENTIAL_SECTION}` section (who takes and reads reports against officials)"
            )
        return cls.model_validate(section)
