"""Test fixtures: the real nats-server and the embedded MongoDB server, started on free ports.

Unit tests need neither. Integration tests get a MongoDB server shared by the session (each test
uses its own databases) and a fresh nats-server per test (JetStream state never leaks between
tests). End-to-end tests start the five services as processes (see tests/e2e/conftest.py).
"""

import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from devtools.stack import Proc, _wait_port, free_port, mongo_server, nats_server
from dispatch_common.paths import DEFAULT_COUNTY_DIR

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


def start_nats(base: Path) -> tuple[Proc, str]:
    """A fresh nats-server with JetStream on a free port."""
    port = free_port()
    proc = nats_server(port=port, store_dir=base / f"js-{port}", log_dir=base / "logs")
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
async def nats_client(nats_url: str) -> AsyncIterator[NatsClient]:
    """A plain nats-py client, for tests that act as an outside publisher or observer."""
    import nats

    nc = await nats.connect(nats_url)
    yield nc
    await nc.drain()


@pytest.fixture(scope="session")
def samples() -> list[dict]:
    """The labelled sample cases of the county package."""
    lines = (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
