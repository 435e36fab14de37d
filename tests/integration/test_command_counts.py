"""Every service's MongoDB commands are counted by name and by the collection they name, on the real
embedded server: the end-to-end benchmark reads these counters to say where a case's round trips go."""

from prometheus_client import REGISTRY

from dispatch_common import store


def _count(service: str, command: str, collection: str) -> float:
    labels = {"service": service, "command": command, "collection": collection}
    return REGISTRY.get_sample_value("dispatch_mongodb_commands_total", labels) or 0.0


async def test_commands_are_counted_by_name_and_collection(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-counts")
    try:
        db = client[f"{db_prefix}counts"]
        before = {
            k: _count("test-counts", *k) for k in (("insert", "cases"), ("find", "cases"), ("find", "notes"))
        }
        await db["cases"].insert_one({"_id": "a"})
        await db["cases"].insert_one({"_id": "b"})
        assert await db["cases"].find_one({"_id": "a"}) == {"_id": "a"}
        assert _count("test-counts", "insert", "cases") - before[("insert", "cases")] == 2
        assert _count("test-counts", "find", "cases") - before[("find", "cases")] == 1
        assert _count("test-counts", "find", "notes") - before[("find", "notes")] == 0
    finally:
        await client.close()
