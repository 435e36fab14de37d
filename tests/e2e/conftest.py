"""End-to-end fixtures: the five services as real processes on free ports, with their own servers."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.keys import issue_token, unit_area
from devtools.stack import SERVICES, Stack, free_port
from dispatch_common.paths import DEFAULT_COUNTY_DIR

pytestmark = pytest.mark.e2e

FAST = {
    "ENVIRONMENT": "test",
    "CONSUMER_BACKOFF_SECONDS": "[0.2, 0.5, 1.0]",
    "CONSUMER_ACK_WAIT_SECONDS": "5",
    "OUTBOX_POLL_SECONDS": "0.2",
    "LOG_LEVEL": "INFO",
    "RATE_LIMIT_ENABLED": "false",  # suites send many requests with one token; test_rate_limits sets it
}


def start_stack(base: Path) -> Stack:
    """All five services and their servers, ready; on a copy of the county package (tests reload it)."""
    county = base / "county"
    shutil.copytree(DEFAULT_COUNTY_DIR, county, dirs_exist_ok=True)
    env = dict(FAST) | {"COUNTY_DIR": str(county)}
    stack = Stack(run_dir=base, ports={s: free_port() for s in SERVICES}, extra_env=env)
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
