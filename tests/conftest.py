"""Test fixtures: the real nats-server and the embedded MongoDB server, started on free ports.

Unit tests need neither. Integration tests get a MongoDB server shared by the session (each test
uses its own databases) and a fresh nats-server per test (JetStream state never leaks between
tests). End-to-end tests start the five services as processes (see tests/e2e/conftest.py).

Every nats-server runs with the generated identities and permissions (devtools/nats_auth.py), as
`make run` does: a service connects as its own user, a test that observes or publishes from outside
as `ops` (`nats_client`) or as an external system (`nats_connect(user)`).
"""

import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from devtools.nats_auth import connect_options
from devtools.stack import Proc, _wait_port, free_port, mongo_server, nats_server
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from dispatch_common.systems import DEFAULT_SYSTEMS_FILE

MONGODB_URL = os.environ.get("TEST_MONGODB_URL")  # run the suite against a real MongoDB when set


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder for the session's servers, keys and logs."""
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def mongodb_url(run_dir: Path) -> Iterator[str]:
    """The embedded MongoDB wire-protocol server (or TEST_MONGODB_URL), for the whole session."""
    if MONGODB_URL:
        yield MONGODB_URL
        return
    port = free_port()
    proc = mongo_server(port=port, data_dir=run_dir / "mongo", log_dir=run_dir / "logs")
    proc.start()
    _wait_port(port, 30, proc.popen, proc.name)  # type: ignore[arg-type]
    yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    proc.stop()


def start_nats(base: Path, *, systems_file: Path = DEFAULT_SYSTEMS_FILE) -> tuple[Proc, str]:
    """A fresh nats-server with JetStream on a free port, with the session's identities."""
    port = free_port()
    proc = nats_server(
        port=port,
        store_dir=base / f"js-{port}",
        log_dir=base / "logs",
        keys_dir=base / "keys",
        systems_file=systems_file,
    )
    proc.start()
    _wait_port(port, 20, proc.popen, proc.name)  # type: ignore[arg-type]
    return proc, f"nats://127.0.0.1:{port}"


@pytest.fixture
def nats_url(run_dir: Path) -> Iterator[str]:
    """A fresh nats-server for one test."""
    proc, url = start_nats(run_dir)
    yield url
    proc.stop()


@pytest.fixture
def db_prefix() -> str:
    """A database prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}_"


@pytest.fixture
def nats_connect(nats_url: str, run_dir: Path) -> Callable[[str], Awaitable[NatsClient]]:
    """Connect a plain nats-py client as a user of the generated identities."""
    import nats

    async def connect(user: str) -> NatsClient:
        return await nats.connect(nats_url, **connect_options(run_dir / "keys", user))

    return connect


@pytest.fixture
async def nats_client(nats_connect) -> AsyncIterator[NatsClient]:
    """A plain nats-py client as `ops`, for tests that act as an outside publisher or observer."""
    nc = await nats_connect("ops")
    yield nc
    await nc.drain()


@pytest.fixture(scope="session")
def samples() -> list[dict]:
    """The labelled sample cases of the county package."""
    lines = (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
