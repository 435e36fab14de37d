"""The five services' apps built in-process, without their servers: what the contract tests read
(their OpenAPI documents, their API pages) and the bad requests they send never reach NATS or MongoDB."""

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devtools.keys import issue_token

SERVICES = ("intake", "routing", "mediation", "supervision", "notify")


def build(name: str, run_dir: Path, **settings: object) -> FastAPI:
    """A service's app, as its bootstrap creates it, on settings for a test."""
    bootstrap = importlib.import_module(f"services.{name}.bootstrap")
    config = importlib.import_module(f"services.{name}.config")
    settings_class = getattr(config, f"{name.capitalize()}Settings")
    # trace_http_clients off: it instruments httpx process-wide, and the end-to-end tests that run later
    # in the same session send their own traceparent with httpx (it would be replaced)
    values = {"environment": "test", "run_dir": run_dir, "trace_http_clients": False} | settings
    return bootstrap.create(settings_class(**values))


@pytest.fixture(scope="session")
def contract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("contract")


@pytest.fixture(scope="session")
def apps(contract_dir: Path) -> dict[str, FastAPI]:
    """Each service's app (its lifespan never runs: nothing connects)."""
    return {name: build(name, contract_dir) for name in SERVICES}


@pytest.fixture(scope="session")
def clients(apps: dict[str, FastAPI]) -> dict[str, TestClient]:
    """A client per app that answers an unexpected exception as the server would (a 500)."""
    return {name: TestClient(app, raise_server_exceptions=False) for name, app in apps.items()}


@pytest.fixture(scope="session")
def documents(clients: dict[str, TestClient]) -> dict[str, dict]:
    """Each service's OpenAPI document, as a client generator downloads it."""
    return {name: client.get("/openapi.json").json() for name, client in clients.items()}


@pytest.fixture(scope="session")
def token(contract_dir: Path) -> Callable[..., str]:
    """A development token for a role (and unit), signed with the keys the apps verify with."""

    def make(role: str, unit: str | None = None) -> str:
        return issue_token(contract_dir / "keys", role=role, unit=unit)

    return make
