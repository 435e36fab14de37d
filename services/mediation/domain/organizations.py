"""The mediation organizations (调解组织) and the rule that chooses one for a dispute.

Organizations come from two places: the county package's units of the types listed in
`from_county_units` (the village and town people's mediation committees), and
data/mediation/organizations.json (industry and professional committees, the rooms stationed at the
court, the police stations and the petition office). Both are checked at load; every problem is
listed. The admin's edits made over the API are laid over them (domain/organization_edits.py). Pure
apart from reading the files.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatch_common.county import LEVEL_ALIASES
from services.mediation.domain.policy import MEDIATION_TYPES, Level, MediationType

# The area levels of geography.geojson, mapped to the three levels organizations serve (no grid).
LEVEL_OF: dict[str, Level] = {
    word: cast(Level, level) for word, level in LEVEL_ALIASES.items() if level != "grid"
}
LEVELS: tuple[Level, ...] = ("village", "town", "county")


class OrganizationsError(ValueError):
    """Organizations that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the mediation organizations:\n  " + "\n  ".join(problems)
        )


class Organization(BaseModel):
    """A mediation organization: its type, the area it serves and the categories it takes."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    type: MediationType
    level: Level
    jurisdiction: str
    categories: tuple[str, ...] = ()
    host_unit: str | None = None
    note: str | None = None
    source: Literal["county_package", "organizations_file", "api"] = "organizations_file"
    active: bool = True  # a deactivated organization takes no new mediations; its history stays
    edited: bool = False  # the fields shown include edits made over the API

    def ref(self) -> dict[str, str]:
        """How events name the organization."""
        return {"code": self.code, "name": self.name, "type": self.type}

    def takes(self, category: str | None, subcategory: str | None) -> int:
        """How specifically it takes a category: 3 its subcategory, 2 its first level, 1 any, 0 not."""
        if not self.categories:
            return 1
        if subcategory and subcategory in self.categories:
            return 3
        if category and category in self.categories:
            return 2
        return 0


class _FileOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    name: str = Field(min_length=1)
    type: MediationType
    jurisdiction: str = Field(min_length=1)
    categories: list[str] = Field(default_factory=list)
    host_unit: str | None = None
    note: str | None = None


class _FromUnits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: MediationType
    categories: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Choice:
    """The organization chosen, if any, and each step of the reasoning."""

    organization: Organization | None
    explanation: list[str] = field(default_factory=list)


@dataclass
class Directory:
    """Every organization, the areas of the county (code -> level, parent) and the unit directory."""

    organizations: dict[str, Organization]
    areas: dict[str, tuple[Level, str | None]]
    units: dict[str, dict[str, Any]]
    categories: frozenset[str] = frozenset()
    version: str = ""
    # the organizations as the data gives them, before the API's edits (domain/organization_edits.py)
    data_organizations: dict[str, Organization] = field(default_factory=dict)

    @classmethod
    def load(cls, county_dir: Path, organizations_file: Path) -> "Directory":
        """Read the county package's areas, taxonomy and units and the organizations file; check them."""
        problems: list[str] = []
        geography = json.loads((county_dir / "geography.geojson").read_text(encoding="utf-8"))
        areas: dict[str, tuple[Level, str | None]] = {}
        for feature in geography.get("features", []):
            props = feature.get("properties") or {}
            level = LEVEL_OF.get(str(props.get("level")))
            if level is not None:  # grids are not served by organizations
                areas[str(props["code"])] = (level, props.get("parent"))
        taxonomy = json.loads((county_dir / "taxonomy.json").read_text(encoding="utf-8"))
        codes = {c["code"] for c in taxonomy} | {s["code"] for c in taxonomy for s in c.get("children", [])}
        units = {u["code"]: u for u in json.loads((county_dir / "units.json").read_text(encoding="utf-8"))}
        raw = json.loads(organizations_file.read_text(encoding="utf-8"))
        name = organizations_file.name
        organizations: dict[str, Organization] = {}

        def check_categories(where: str, categories: list[str]) -> None:
            unknown = [c for c in categories if c not in codes]
            if unknown:
                problems.append(f"{where}: unknown category codes {unknown}")

        for unit_type, spec in (raw.get("from_county_units") or {}).items():
            try:
                rule = _FromUnits.model_validate(spec)
            except ValidationError as exc:
                problems += [f"{name}: from_county_units.{unit_type}: {e['msg']}" for e in exc.errors()]
                continue
            check_categories(f"{name}: from_county_units.{unit_type}", rule.categories)
            matching = [u for u in units.values() if u.get("type") == unit_type]
            if not matching:
                problems.append(f"{name}: from_county_units: no unit of type {unit_type!r} in units.json")
            for unit in matching:
                area = areas.get(str(unit.get("jurisdiction")))
                if area is None:
                    problems.append(
                        f"units.json: {unit['code']} serves unknown area {unit.get('jurisdiction')}"
                    )
                    continue
                organizations[unit["code"]] = Organization(
                    code=unit["code"],
                    name=unit["name"],
                    type=rule.type,
                    level=area[0],
                    jurisdiction=str(unit["jurisdiction"]),
                    categories=tuple(rule.categories),
                    host_unit=unit["code"],
                    source="county_package",
                )
        for i, spec in enumerate(raw.get("organizations") or []):
            where = f"{name}: organizations[{i}]"
            try:
                org = _FileOrganization.model_validate(spec)
            except ValidationError as exc:
                problems += [f"{where}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
                continue
            where = f"{name}: {org.code}"
            if org.code in organizations:
                problems.append(f"{where}: code used twice (or by a unit of the county package)")
            area = areas.get(org.jurisdiction)
            if area is None:
                problems.append(f"{where}: unknown jurisdiction {org.jurisdiction}")
            if org.host_unit is not None and org.host_unit not in units:
                problems.append(f"{where}: unknown host unit {org.host_unit}")
            check_categories(where, org.categories)
            if area is not None:
                organizations[org.code] = Organization(
                    code=org.code,
                    name=org.name,
                    type=org.type,
                    level=area[0],
                    jurisdiction=org.jurisdiction,
                    categories=tuple(org.categories),
                    host_unit=org.host_unit,
                    note=org.note,
                )
        missing = sorted(set(MEDIATION_TYPES) - {o.type for o in organizations.values()})
        if missing:
            problems.append(f"no organization of type {missing}: such mediations could never be opened")
        if problems:
            raise OrganizationsError(problems)
        return cls(
            organizations=organizations,
            areas=areas,
            units=units,
            categories=frozenset(codes),
            version=str(raw.get("version", "")),
            data_organizations=dict(organizations),
        )

    def active(self, code: str | None) -> Organization | None:
        """The organization of this code if it takes new mediations (it exists and is not deactivated)."""
        org = self.organizations.get(code) if code else None
        return org if org is not None and org.active else None

    def chain(self, *, village: str | None, town: str | None) -> list[str]:
        """The areas containing a case, smallest first: its village, its town, the county."""
        start = village if village in self.areas else town if town in self.areas else None
        if start is None:
            return [code for code, (level, _) in self.areas.items() if level == "county"]
        out: list[str] = []
        current: str | None = start
        while current is not None and current in self.areas and current not in out:
            out.append(current)
            current = self.areas[current][1]
        return out

    def units_of_types(self, types: list[str], chain: list[str]) -> list[dict[str, Any]]:
        """Units of these types serving the case's areas, the most local first (then by type order)."""
        found = []
        for depth, area in enumerate(chain):
            for rank, unit_type in enumerate(types):
                for unit in self.units.values():
                    if unit.get("type") == unit_type and unit.get("jurisdiction") == area:
                        found.append((depth, rank, unit["code"], unit))
        return [u for *_, u in sorted(found, key=lambda t: t[:3])]

    def choose(
        self,
        *,
        village: str | None,
        town: str | None,
        category: str | None,
        subcategory: str | None,
        requested: MediationType | None,
        start_level: Level,
        professional_first: bool = True,
    ) -> Choice:
        """The organization for a dispute.

        A requested type (court, police, petition, professional, people) is looked for from the
        case's village up to the county. Without one: a professional organization that names the
        case's category takes it first (a wage dispute goes to labour dispute mediation), else the
        people's mediation committee of the case's village, then of its town, then of the county,
        starting at `start_level` (a group or key dispute starts at the town).
        """
        chain = self.chain(village=village, town=town)
        why: list[str] = [f"areas of the case, smallest first: {', '.join(chain) or 'none'}"]
        category_text = subcategory or category or "no category"

        def best(of_type: str, areas: list[str], *, explicit: bool) -> Organization | None:
            # grassroots first for committees and stationed rooms (the nearest area wins); for
            # professional organizations the one naming the category most specifically wins
            ranked = []
            for depth, area in enumerate(areas):
                for org in self.organizations.values():
                    if org.type != of_type or org.jurisdiction != area or not org.active:
                        continue
                    fit = org.takes(category, subcategory)
                    if fit >= (2 if explicit else 1):
                        key = (-fit, depth) if explicit else (depth, -fit)
                        ranked.append((*key, org.code, org))
            return min(ranked, key=lambda r: r[:3])[-1] if ranked else None

        if requested is not None and requested != "people":
            org = best(requested, chain, explicit=False)
            found = (
                f"{org.code} ({org.name}) serves the case" if org else "no such organization serves the case"
            )
            why.append(f"{requested} mediation asked for: {found} for {category_text}")
            return Choice(org, why)
        if requested is None and professional_first:
            org = best("professional", chain, explicit=True)
            if org is not None:
                why.append(f"professional mediation first: {org.code} ({org.name}) names {category_text}")
                return Choice(org, why)
            why.append(f"no professional organization names {category_text}")
        levels = LEVELS[LEVELS.index(start_level) :]
        areas = [a for a in chain if self.areas[a][0] in levels]
        if start_level != "village":
            why.append(f"the search starts at the {start_level} level")
        org = best("people", areas, explicit=False)
        if org is not None:
            why.append(
                f"people's mediation: {org.code} ({org.name}) of {org.jurisdiction} takes {category_text}"
            )
        else:
            why.append(f"no people's mediation committee serves {', '.join(areas) or 'the case'}")
        return Choice(org, why)
