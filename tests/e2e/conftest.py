"""End-to-end fixtures: the five services as real processes on free ports, with their own servers."""

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.keys import issue_token, unit_area
from devtools.stack import SERVICES, Stack, free_port
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from services.intake.domain.open311_clients import DEV_KEY_FILE, key_hash
from tests.e2e.browser import chromium  # noqa: F401  (the browser tests' fixture)

pytestmark = pytest.mark.e2e

FAST = {
    "ENVIRONMENT": "test",
    "CONSUMER_BACKOFF_SECONDS": "[0.2, 0.5, 1.0]",
    "CONSUMER_ACK_WAIT_SECONDS": "5",
    "OUTBOX_POLL_SECONDS": "0.2",
    "LOG_LEVEL": "INFO",
    "RATE_LIMIT_ENABLED": "false",  # suites send many requests with one token; test_rate_limits sets it
    "PROGRESS_RATE_LIMIT_ENABLED": "false",  # the petitioner lookups from 127.0.0.1; test_progress sets it
}


OPEN311_APPS = {"dev-311-app": False, "city-311": True, "other-311": False}
"""The Open311 clients of the end-to-end platform, and whether each one's outcome feed is published."""


def open311_clients(base: Path) -> Path:
    """A clients file for the stack: the development client (its key where `make run` puts it) and two
    311 apps; every key is kept in `<base>/open311_keys.json` for the tests."""
    keys = {name: secrets.token_urlsafe(24) for name in OPEN311_APPS}
    (base / "keys").mkdir(parents=True, exist_ok=True)
    (base / "keys" / DEV_KEY_FILE).write_text(keys["dev-311-app"])
    (base / "open311_keys.json").write_text(json.dumps(keys))
    entries = [{"name": n, "key_sha256": key_hash(k), "feed": OPEN311_APPS[n]} for n, k in keys.items()]
    path = base / "open311_clients.json"
    path.write_text(json.dumps({"clients": entries}))
    return path


def incidents_off(base: Path) -> Path:
    """An incident policy that links nothing: the suites send the same sample texts at the same places
    again and again, and each must be routed on its own; tests/e2e/test_incidents.py starts its own
    stack with the shipped policy."""
    path = base / "incidents_off.json"
    path.write_text(json.dumps({"enabled": False}))
    return path


def start_stack(base: Path, extra_env: dict[str, str] | None = None) -> Stack:
    """All five services and their servers, ready, and the console beside them; on a copy of the county
    package (tests reload it)."""
    county = base / "county"
    shutil.copytree(DEFAULT_COUNTY_DIR, county, dirs_exist_ok=True)
    env = dict(FAST) | {"COUNTY_DIR": str(county), "OPEN311_CLIENTS_FILE": str(open311_clients(base))}
    env["INCIDENT_POLICY_FILE"] = str(incidents_off(base))
    env |= extra_env or {}
    stack = Stack(
        run_dir=base, ports={s: free_port() for s in SERVICES}, extra_env=env, console_port=free_port()
    )
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The platform, shared by the end-to-end tests of the session."""
    s = start_stack(tmp_path_factory.mktemp("e2e"))
    yield s
    s.stop()


class Api:
    """HTTP calls to the stack as one caller."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.stack, self.token = stack, token
        self.client = httpx.Client(timeout=10.0, headers={"Authorization": f"Bearer {token}"})

    def url(self, service: str, path: str) -> str:
        return self.stack.url(service) + path

    def get(self, service: str, path: str, **kw) -> httpx.Response:
        return self.client.get(self.url(service, path), **kw)

    def post(self, service: str, path: str, **kw) -> httpx.Response:
        return self.client.post(self.url(service, path), **kw)


@pytest.fixture(scope="session")
def as_role(stack: Stack):
    """An API client for a role (and unit), with a development token."""

    def make(role: str, unit: str | None = None) -> Api:
        area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
        return Api(stack, issue_token(stack.run_dir / "keys", role=role, unit=unit, area=area))

    return make


@pytest.fixture(scope="session")
def dispatcher(as_role) -> Api:
    return as_role("dispatcher")


@pytest.fixture(scope="session")
def clerk(as_role) -> Api:
    return as_role("reception_clerk")


@pytest.fixture(scope="session")
def units() -> list[dict]:
    """The unit directory of the county package."""
    return json.loads((DEFAULT_COUNTY_DIR / "units.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def open311_keys(stack: Stack) -> dict[str, str]:
    """The key of each Open311 client of the stack, by name."""
    return json.loads((stack.run_dir / "open311_keys.json").read_text())
