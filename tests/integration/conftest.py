"""Integration fixtures: a service runtime on the real servers, with fast retries."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from dispatch_common import store
from dispatch_common.clock import FixedClock
from dispatch_common.nats_permissions import SERVICES
from dispatch_common.runtime import Runtime
from dispatch_common.settings import ServiceSettings
from tests.helpers import FAST_CONSUMERS, MONDAY, nats_identity
from tests.mediation_support import start_mediation
from tests.supervision_support import start_supervision

pytestmark = pytest.mark.integration


@pytest.fixture
def make_settings(nats_url: str, mongodb_url: str, db_prefix: str, run_dir) -> Callable[..., ServiceSettings]:
    """Settings pointing at this test's servers and databases; keyword overrides win. A service
    connects as its own NATS user; the generic `probe` as `ops` (it plays any service)."""

    def make(**overrides: object) -> ServiceSettings:
        values: dict[str, object] = FAST_CONSUMERS | {
            "service_name": "probe",
            "nats_url": nats_url,
            "mongodb_url": mongodb_url,
            "mongodb_db_prefix": db_prefix,
            "run_dir": run_dir,
        }
        values.update(overrides)
        user = values["service_name"] if values["service_name"] in SERVICES else "ops"
        values = nats_identity(run_dir, str(user)) | values
        return ServiceSettings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def runtimes() -> AsyncIterator[list[Runtime]]:
    """Runtimes a test starts; all are stopped at its end."""
    started: list[Runtime] = []
    yield started
    for rt in started:
        await rt.stop()


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at MONDAY until the test moves it."""
    return FixedClock(MONDAY)


@pytest.fixture
async def files(mongodb_url: str, db_prefix: str):  # type: ignore[no-untyped-def]
    """Supervision's case files on this test's database, with their indexes; dropped after."""
    from services.supervision.adapters.repository import CaseFiles

    client = store.connect(mongodb_url, app_name="test-supervision")
    files = CaseFiles(client[f"{db_prefix}supervision"])
    await files.ensure_indexes()
    yield files
    await client.drop_database(f"{db_prefix}supervision")
    await client.close()


@pytest.fixture
async def repo(mongodb_url: str, db_prefix: str):  # type: ignore[no-untyped-def]
    """Mediation's store on this test's database, with the shipped mediators seeded; dropped after."""
    from services.mediation.adapters.repository import MediationStore
    from tests.mediation_cases import SEED

    client = store.connect(mongodb_url, app_name="test-mediation")
    repo = MediationStore(client[f"{db_prefix}mediation"])
    await repo.ensure_indexes()
    await repo.seed_mediators(m.model_dump() for m in SEED)
    yield repo
    await client.drop_database(f"{db_prefix}mediation")
    await client.close()


@pytest.fixture
def servers(nats_url, mongodb_url, run_dir, nats_client, tmp_path) -> dict[str, Any]:
    """This test's servers and folders, as a service harness takes them (`start_notify(**servers)`)."""
    return {
        "nats_url": nats_url,
        "mongodb_url": mongodb_url,
        "run_dir": run_dir,
        "nc": nats_client,
        "tmp_path": tmp_path,
    }


@pytest.fixture
async def mediation_service(nats_url, mongodb_url, db_prefix, run_dir, runtimes):
    """Mediation in process on this test's servers (tests/mediation_support.py), stopped at its end."""
    h = await start_mediation(
        nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir
    )
    runtimes.append(h.med.runtime)
    return h


@pytest.fixture
async def supervision_service(nats_url, mongodb_url, db_prefix, run_dir, runtimes):
    """Supervision in process on this test's servers (tests/supervision_support.py), stopped at its end."""
    h = await start_supervision(
        nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir
    )
    runtimes.append(h.sv.runtime)
    return h


@pytest.fixture
async def start_routing(nats_url, mongodb_url, db_prefix, run_dir):  # type: ignore[no-untyped-def]
    """Start routing in process on the test's servers (settings overridden by keywords): its state and
    an HTTP client maker by role (and unit). Every one started is stopped at the end."""
    from services.routing import bootstrap
    from services.routing.config import RoutingSettings
    from tests.helpers import api_client

    started: list[Any] = []

    async def start(**overrides: Any) -> tuple[Any, Callable[..., Any]]:
        values = FAST_CONSUMERS | nats_identity(run_dir, "routing")
        values |= {"nats_url": nats_url, "mongodb_url": mongodb_url, "mongodb_db_prefix": db_prefix}
        app = bootstrap.create(RoutingSettings(**values, run_dir=run_dir, **overrides))
        await app.state.routing.runtime.start()
        started.append(app.state.routing)

        def client(role: str, unit: str | None = None) -> Any:
            return api_client(app, run_dir / "keys", base_url="http://routing", role=role, unit=unit)

        return app.state.routing, client

    yield start
    for routing in started:
        await routing.runtime.stop()


@pytest.fixture
async def published(nats_client) -> AsyncIterator[list[dict[str, Any]]]:
    """Every dispatch.> event published while the test runs, as envelopes (its servers are the
    test's own: only its services publish)."""
    seen: list[dict[str, Any]] = []

    async def keep(msg: Any) -> None:
        seen.append(json.loads(msg.data))

    sub = await nats_client.subscribe("dispatch.>", cb=keep)
    yield seen
    await sub.unsubscribe()
