"""Shared fixtures for the routing domain tests: the reference county package, loaded once."""

import json
from pathlib import Path

import pytest

from services.routing.domain import Classifier, CountyPackage, Locator

COUNTY_DIR = Path(__file__).resolve().parents[3] / "data" / "county" / "990102"


@pytest.fixture(scope="session")
def county_dir() -> Path:
    return COUNTY_DIR


@pytest.fixture(scope="session")
def package() -> CountyPackage:
    return CountyPackage.from_dir(COUNTY_DIR)


@pytest.fixture(scope="session")
def locator(package: CountyPackage) -> Locator:
    return Locator(package)


@pytest.fixture(scope="session")
def classifier(package: CountyPackage) -> Classifier:
    return Classifier(package)


@pytest.fixture(scope="session")
def sample_cases() -> list[dict]:
    lines = (COUNTY_DIR / "sample_cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
