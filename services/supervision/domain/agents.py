"""Proxy agents (信访代办员, 三级代办): who they are, and the tier policy that moves a matter up.

The directory is seeded from the county package's `agents.json` and kept in supervision's store
(adapters/agents.py); the tier policy is `data/policy/agent_tiers.json`. Pure: no I/O but loading.
"""

import json
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dispatch_common.county import LEVEL_ALIASES

AGENTS_FILE = "agents.json"


class Tier(StrEnum):
    """The three tiers of 三级代办, lowest first."""

    VILLAGE = "village"
    TOWN = "town"
    COUNTY = "county"


class Channel(BaseModel):
    """One way to reach an agent (a public work contact, not personal data of a petitioner)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["phone", "sms", "wechat", "email"]
    value: str = Field(min_length=3, max_length=120)


AgentId = Field(min_length=3, max_length=48, pattern=r"^[0-9A-Za-z_-]+$")


class AgentFields(BaseModel):
    """What an admin or a town's leader may set on an agent."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    tier: Tier
    area: str = Field(min_length=2, max_length=32, pattern=r"^[0-9]+$")
    unit: str | None = Field(None, max_length=32)
    channels: list[Channel] = Field(min_length=1, max_length=6)
    active: bool = True


class Agent(AgentFields):
    """An agent of the directory."""

    id: str = AgentId


class AgentsFile(BaseModel):
    """The county package's agents.json."""

    model_config = ConfigDict(extra="forbid")

    version: str
    source: str = ""
    agents: list[Agent]

    @model_validator(mode="after")
    def _unique(self) -> "AgentsFile":
        ids = [a.id for a in self.agents]
        if len(ids) != len(set(ids)):
            raise ValueError("agent ids must be unique")
        return self


def tier_of_level(level: str | None) -> Tier | None:
    """The tier an area of this geography level is served at (a grid has none)."""
    word = LEVEL_ALIASES.get(level or "")
    return Tier(word) if word in Tier.__members__.values() else None


def area_levels(county_dir: Path) -> dict[str, str | None]:
    """Every area code of the county package with its level word."""
    geography = json.loads((county_dir / "geography.geojson").read_text(encoding="utf-8"))
    return {str(f["properties"]["code"]): f["properties"].get("level") for f in geography["features"]}


def placement_errors(fields: AgentFields, levels: dict[str, str | None], units: set[str]) -> list[str]:
    """Why an agent does not fit the county package: an unknown area, an area of another tier than
    the agent's, an unknown unit."""
    errors = []
    if fields.area not in levels:
        errors.append(f"area {fields.area} is no area of the county package")
    elif tier_of_level(levels[fields.area]) != fields.tier:
        errors.append(f"area {fields.area} is a {levels[fields.area]}, not an area of tier {fields.tier}")
    if fields.unit is not None and fields.unit not in units:
        errors.append(f"unit {fields.unit} is no unit of the county package")
    return errors


def load_agents(county_dir: Path, units: set[str], path: Path | None = None) -> list[Agent]:
    """The agents of a file (by default the county package's agents.json), each checked against the
    package's geography and units; ValueError naming every agent that does not fit (the service
    refuses to start on agents it cannot serve). A package without the file: no agents to seed; a file
    named and missing: ValueError."""
    if path is not None and not path.exists():
        raise ValueError(f"{path}: the agents file named (AGENTS_FILE) does not exist")
    path = path or county_dir / AGENTS_FILE
    if not path.exists():
        return []
    try:
        parsed = AgentsFile.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    levels = area_levels(county_dir)
    problems = [f"{a.id}: {e}" for a in parsed.agents for e in placement_errors(a, levels, units)]
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return parsed.agents


def serves(agent_area: str, area: str) -> bool:
    """Whether an area lies within an agent's (or a leader's) area: area codes nest by prefix."""
    return area.startswith(agent_area)


class TierRule(BaseModel):
    """How long a matter may stay at one tier, and where it goes next."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier
    label: str
    hours: float | None = Field(None, gt=0)
    next: Tier | None = None


class TierPolicy(BaseModel):
    """data/policy/agent_tiers.json."""

    model_config = ConfigDict(extra="forbid")

    version: str
    source: str = ""
    tiers: list[TierRule]

    @model_validator(mode="after")
    def _complete(self) -> "TierPolicy":
        named = {r.tier for r in self.tiers}
        if named != set(Tier):
            raise ValueError(f"the policy names tiers {sorted(named)}; it must name each of {list(Tier)}")
        for rule in self.tiers:
            if (rule.hours is None) != (rule.next is None):
                raise ValueError(f"tier {rule.tier}: `hours` and `next` go together")
        return self

    def rule(self, tier: Tier | str) -> TierRule:
        """The rule of one tier."""
        return next(r for r in self.tiers if r.tier == tier)

    @classmethod
    def load(cls, path: Path) -> "TierPolicy":
        """Read and check the policy file."""
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
