"""Each MongoDB command is a client span under the current one, named and attributed after the
OpenTelemetry database conventions, on the embedded server."""

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.errors import DuplicateKeyError

from dispatch_common import store

pytestmark = pytest.mark.integration


async def test_a_find_and_a_failed_insert_are_client_spans_under_the_callers_span(mongodb_url, db_prefix):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    patch = pytest.MonkeyPatch()
    patch.setattr("dispatch_common.db_spans.tracer", lambda: tracer)  # this test's provider, not the global
    client = store.connect(mongodb_url, app_name="test-db-spans", trace_commands=True)
    db = client[f"{db_prefix}spans"]
    try:
        with tracer.start_as_current_span("request") as parent:
            await db["cases"].insert_one({"_id": "c1"})
            await db["cases"].find_one({"_id": "c1"})
            with pytest.raises(DuplicateKeyError):
                await db["cases"].insert_one({"_id": "c1"})
    finally:
        await client.drop_database(f"{db_prefix}spans")
        await client.close()
        patch.undo()
    spans = [s for s in exporter.get_finished_spans() if s.name != "request"]
    by_name = {s.name: s for s in spans}
    assert {"insert cases", "find cases"} <= by_name.keys()
    find = by_name["find cases"]
    assert find.kind.name == "CLIENT" and find.parent.span_id == parent.get_span_context().span_id
    assert find.attributes["db.system.name"] == "mongodb"
    assert find.attributes["db.namespace"] == f"{db_prefix}spans"
    assert find.attributes["db.collection.name"] == "cases"
    assert find.attributes["db.operation.name"] == "find"
    assert find.attributes["server.address"] and find.attributes["server.port"] > 0
    inserts = [s for s in spans if s.name == "insert cases"]
    assert len(inserts) == 2
    # a duplicate key is a write error inside a successful command: the command itself succeeded
    assert all(s.attributes["db.operation.name"] == "insert" for s in inserts)
