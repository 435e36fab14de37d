"""The Open311 service catalogue: the county package's categories as GeoReport v2 services, what each
asks (attributes of its definition), the jurisdiction ids the door answers to, and the checking of a
request's attribute values. Data: the package's taxonomy.json and data/intake/open311_services.json.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatch_common.county import county_code

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LISTS = ("singlevaluelist", "multivaluelist")
CASE_FIELDS = ("people_count",)  # the fields of a case an attribute may fill


class Open311ServicesError(ValueError):
    """The catalogue file cannot be used with the county package; every problem is named."""


class Value(BaseModel):
    """One choice of a list attribute."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)


class Attribute(BaseModel):
    """One attribute of a service definition (GeoReport v2), and the case field it may fill."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    datatype: Datatype
    required: bool = False
    order: int = Field(1, ge=1)
    description: str = Field(min_length=1, max_length=200)
    datatype_description: str | None = None
    values: list[Value] = Field(default_factory=list)
    maps_to: Literal["people_count"] | None = None

    def view(self) -> dict[str, Any]:
        """As a definition lists it."""
        return {
            "variable": True,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description,
            "order": self.order,
            "description": self.description,
            "values": [v.model_dump() for v in self.values],
        }


class CatalogueFile(BaseModel):
    """The file's shape."""

    model_config = ConfigDict(extra="forbid")

    about: str = ""
    jurisdiction_ids: list[str] = Field(default_factory=list)
    attributes: dict[str, list[Attribute]] = Field(default_factory=dict)


class Catalogue:
    """Services, definitions and jurisdiction ids of the door."""

    def __init__(self, county_dir: Path, path: Path) -> None:
        taxonomy = json.loads((county_dir / "taxonomy.json").read_text(encoding="utf-8"))
        try:
            parsed = CatalogueFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise Open311ServicesError(f"{path}: {exc}") from exc
        first = {top["code"]: top for top in taxonomy}
        parent = {child["code"]: top["code"] for top in taxonomy for child in top.get("children", [])}
        unknown = sorted(code for code in parsed.attributes if code not in first and code not in parent)
        bad_lists = sorted(
            f"{code}/{a.code}"
            for code, attrs in parsed.attributes.items()
            for a in attrs
            if (a.datatype in LISTS) != bool(a.values)
        )
        if unknown or bad_lists:
            problems = [f"codes not in the taxonomy: {unknown}"] if unknown else []
            problems += [f"list attributes need values and only they: {bad_lists}"] if bad_lists else []
            raise Open311ServicesError(f"{path}: {'; '.join(problems)}")
        self.jurisdiction_ids = frozenset([county_code(county_dir), *parsed.jurisdiction_ids])
        self._attributes: dict[str, list[Attribute]] = {}
        self.services: list[dict[str, Any]] = []
        for top in taxonomy:
            for child in top.get("children", []):
                code = child["code"]
                merged = {a.code: a for a in parsed.attributes.get(top["code"], [])}
                merged |= {a.code: a for a in parsed.attributes.get(code, [])}
                self._attributes[code] = sorted(merged.values(), key=lambda a: (a.order, a.code))
                self.services.append(
                    {
                        "service_code": code,
                        "service_name": child["name"],
                        "description": f"{top['name']}：{child['name']}",
                        "metadata": bool(merged),
                        "type": "realtime",
                        "keywords": "",
                        "group": top["name"],
                    }
                )
        self._names = {s["service_code"]: s["service_name"] for s in self.services}

    def name(self, code: str | None) -> str | None:
        """A service's name."""
        return self._names.get(code) if code else None

    def definition(self, code: str) -> dict[str, Any] | None:
        """A service's definition (GeoReport v2), or None for an unknown code."""
        if code not in self._attributes:
            return None
        return {"service_code": code, "attributes": [a.view() for a in self._attributes[code]]}

    def check(
        self, code: str, given: dict[str, list[str]]
    ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        """A request's attribute values checked against the service's definition: the values kept (by
        code), the case fields they fill, and every problem (`attribute[<code>]: ...`)."""
        kept: dict[str, Any] = {}
        fields: dict[str, Any] = {}
        problems: list[str] = []
        known = {a.code: a for a in self._attributes.get(code, [])}
        for extra in sorted(set(given) - set(known)):
            problems.append(f"attribute[{extra}]: not an attribute of service {code}")
        for attr in known.values():
            values = [v for v in given.get(attr.code, []) if v != ""]
            if not values:
                if attr.required:
                    problems.append(f"attribute[{attr.code}]: required ({attr.description})")
                continue
            problem, value = _parse(attr, values)
            if problem:
                problems.append(f"attribute[{attr.code}]: {problem}")
                continue
            kept[attr.code] = value
            if attr.maps_to:
                fields[attr.maps_to] = value
        return kept, fields, problems


def _parse(attr: Attribute, values: list[str]) -> tuple[str | None, Any]:
    """One attribute's value, or the problem with it."""
    if attr.datatype == "multivaluelist":
        keys = {v.key for v in attr.values}
        wrong = [v for v in values if v not in keys]
        return (f"not among {sorted(keys)}: {wrong}", None) if wrong else (None, values)
    if len(values) > 1:
        return "give one value", None
    value = values[0]
    if attr.datatype == "singlevaluelist":
        keys = {v.key for v in attr.values}
        return (None, value) if value in keys else (f"not among {sorted(keys)}", None)
    if attr.datatype == "number":
        try:
            number = int(value) if attr.maps_to == "people_count" else float(value)
        except ValueError:
            return "not a number", None
        return (
            ("must be 1 or more", None) if attr.maps_to == "people_count" and number < 1 else (None, number)
        )
    if attr.datatype == "datetime":
        try:
            return None, datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            return "not a date and time (ISO 8601)", None
    limit = 200 if attr.datatype == "string" else 2000
    return (f"longer than {limit} characters", None) if len(value) > limit else (None, value)
