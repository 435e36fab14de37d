"""Indexes and migrations run as `python -m services.migrate` before an upgrade (the Job), and a
service told BUILD_INDEXES_AT_START=false builds none at start."""

import pytest

from dispatch_common import store
from dispatch_common.runtime import Runtime
from services import migrate

pytestmark = pytest.mark.integration


async def _indexes(mongodb_url: str, database: str, collection: str) -> set[str]:
    """The fields a collection's indexes are on (names differ between servers)."""
    client = store.connect(mongodb_url, app_name="test-migrate")
    try:
        return {"+".join(i["key"]) async for i in await client[database][collection].list_indexes()}
    finally:
        await client.close()


async def test_the_migration_command_builds_a_services_indexes(mongodb_url, db_prefix, run_dir, monkeypatch):
    for name, value in {
        "MONGODB_URL": mongodb_url,
        "MONGODB_DB_PREFIX": db_prefix,
        "ENVIRONMENT": "test",
        "RUN_DIR": str(run_dir),
    }.items():
        monkeypatch.setenv(name, value)
    await migrate.migrate("supervision")
    names = await _indexes(mongodb_url, f"{db_prefix}supervision", "case_dossiers")
    assert {"next_alarm_ts", "status", "outbox_pending"} <= names


def test_the_migration_command_refuses_an_unknown_service() -> None:
    with pytest.raises(SystemExit):
        migrate.main(["billing"])


async def test_a_service_told_not_to_builds_no_index_at_start(
    make_settings, runtimes, mongodb_url, db_prefix
):
    rt = Runtime(make_settings(build_indexes_at_start=False))
    col = rt.outbox(rt.db["things"])

    async def index() -> None:
        await col.create_index("kind")

    rt.on_migrate(index)
    await rt.start()
    runtimes.append(rt)
    assert "kind" not in await _indexes(mongodb_url, f"{db_prefix}probe", "things")
    await rt.migrate()
    assert {"kind", "outbox_pending"} <= await _indexes(mongodb_url, f"{db_prefix}probe", "things")
