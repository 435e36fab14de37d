"""The proxy agents' package file and tier policy are checked before a service serves them (pure)."""

import json
import shutil
from pathlib import Path

import pytest

from dispatch_common.county import unit_directory
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.supervision.domain.agents import Tier, TierPolicy, load_agents, serves

UNITS = set(unit_directory(DEFAULT_COUNTY_DIR))


def test_the_packages_agents_fit_its_geography_and_units():
    agents = load_agents(DEFAULT_COUNTY_DIR, UNITS)
    assert {a.tier for a in agents} == set(Tier)
    assert all(a.channels for a in agents)


def package_with(tmp_path: Path, change) -> Path:
    county = tmp_path / "county"
    shutil.copytree(DEFAULT_COUNTY_DIR, county)
    raw = json.loads((county / "agents.json").read_text(encoding="utf-8"))
    change(raw["agents"])
    (county / "agents.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return county


def test_an_agent_on_an_area_of_another_tier_or_an_unknown_unit_stops_the_load(tmp_path):
    def misplace(agents):
        agents[0]["tier"] = "town"  # a village's area
        agents[1]["unit"] = "990102-NOPE"

    with pytest.raises(ValueError) as err:
        load_agents(package_with(tmp_path, misplace), UNITS)
    assert "AG-V-990102001001" in str(err.value) and "990102-NOPE" in str(err.value)


def test_duplicate_ids_stop_the_load(tmp_path):
    def twice(agents):
        agents.append(dict(agents[0]))

    with pytest.raises(ValueError, match="unique"):
        load_agents(package_with(tmp_path, twice), UNITS)


def test_the_tier_policy_names_every_tier_and_the_county_is_the_last():
    policy = TierPolicy.load(DATA_DIR / "policy" / "agent_tiers.json")
    assert policy.rule("village").next == Tier.TOWN and policy.rule("town").next == Tier.COUNTY
    assert policy.rule("county").hours is None
    with pytest.raises(ValueError):
        TierPolicy.model_validate({"version": "x", "tiers": [{"tier": "village", "label": "村", "hours": 1}]})


def test_areas_nest_by_their_codes():
    assert serves("990102001", "990102001003") and not serves("990102001", "990102002001")
