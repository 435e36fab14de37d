"""The in-document outbox and its relay, on the real servers."""

import json
import uuid

import pytest

from dispatch_common import store, subjects
from dispatch_common.contracts import ContractError
from dispatch_common.envelope import make_event
from dispatch_common.outbox import OutboxRelay
from dispatch_common.runtime import Runtime
from tests.helpers import events_on

pytestmark = pytest.mark.integration


def opened(case_id: str):
    """A valid dispatch.mediation.opened event."""
    return make_event(
        type=subjects.MEDIATION_OPENED,
        source="/dispatch/mediation",
        subject=case_id,
        data={
            "mediation_id": f"m-{case_id}",
            "case_id": case_id,
            "type": "people",
            "status": "opened",
            "organization": {"code": "u1", "name": "调委会", "type": "mediation_committee"},
            "opened_at": "2026-11-23T01:00:00+00:00",
        },
    )


async def started(make_settings, runtimes) -> Runtime:
    rt = Runtime(make_settings(outbox_poll_seconds=3600))  # no background timing: the test drains
    await rt.start()
    runtimes.append(rt)
    return rt


async def test_a_state_change_and_its_events_are_stored_together_and_published_once(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    relay = OutboxRelay(rt.bus, [col], poll_seconds=3600)
    case_id = str(uuid.uuid4())
    event = opened(case_id)
    assert await store.insert_aggregate(col, {"_id": case_id, "status": "opened"}, [event])
    doc = await col.find_one({"_id": case_id})
    assert doc["version"] == 1 and doc["outbox_pending"] is True and doc["outbox"][0]["id"] == event.id

    assert await relay.drain() == 1
    doc = await col.find_one({"_id": case_id})
    assert doc["outbox"] == [] and not doc["outbox_pending"]
    assert await col.count_documents({"outbox_pending": True}) == 0
    assert await relay.drain() == 0

    published = await events_on(nats_client, subjects.MEDIATION_OPENED)
    assert [e["id"] for e in published] == [event.id]


async def test_a_crash_between_publish_and_mark_republishes_the_same_id_which_jetstream_drops(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    case_id = str(uuid.uuid4())
    event = opened(case_id)
    await store.insert_aggregate(col, {"_id": case_id}, [event])
    # Publish as the relay would, then "crash" before marking: the entry stays pending.
    entry = (await col.find_one({"_id": case_id}))["outbox"][0]
    await rt.bus.publish_event(entry["event"], trace_headers=entry["headers"])
    relay = OutboxRelay(rt.bus, [col], poll_seconds=3600)
    assert await relay.drain() == 1  # published again after the restart...
    published = await events_on(nats_client, subjects.MEDIATION_OPENED)
    assert [e["id"] for e in published] == [event.id]  # ...and the stream holds it once


async def test_version_guard_refuses_a_stale_write_and_keeps_owed_events(make_settings, runtimes):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    case_id = str(uuid.uuid4())
    await store.insert_aggregate(col, {"_id": case_id, "status": "a"})
    read_by_one = await col.find_one({"_id": case_id})
    read_by_two = await col.find_one({"_id": case_id})
    first = opened(case_id)
    await store.save_aggregate(col, read_by_one, {"status": "b"}, [first])
    with pytest.raises(store.VersionConflict):
        await store.save_aggregate(col, read_by_two, {"status": "c"}, [opened(case_id)])
    doc = await col.find_one({"_id": case_id})
    assert doc["status"] == "b" and doc["version"] == 2 and [e["id"] for e in doc["outbox"]] == [first.id]


async def test_an_event_that_breaks_the_contract_is_never_stored(make_settings, runtimes):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    bad = make_event(type=subjects.MEDIATION_OPENED, source="/dispatch/mediation", subject="c", data={"x": 1})
    with pytest.raises(ContractError):
        await store.insert_aggregate(col, {"_id": "c"}, [bad])
    assert await col.find_one({"_id": "c"}) is None


async def test_events_of_one_aggregate_keep_their_order(make_settings, runtimes, nats_client):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    case_id = str(uuid.uuid4())
    events = [opened(case_id) for _ in range(3)]
    await store.insert_aggregate(col, {"_id": case_id}, events[:1])
    doc = await col.find_one({"_id": case_id})
    await store.save_aggregate(col, doc, {}, events[1:])
    await OutboxRelay(rt.bus, [col], poll_seconds=3600).drain()
    published = await events_on(nats_client, subjects.MEDIATION_OPENED)
    assert [e["id"] for e in published] == [e.id for e in events]
    assert all(json.dumps(e) for e in published)


async def test_a_document_that_moved_on_while_publishing_keeps_its_new_events(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    ids = [str(uuid.uuid4()) for _ in range(3)]
    first = {case_id: opened(case_id) for case_id in ids}
    for case_id in ids:
        await store.insert_aggregate(col, {"_id": case_id}, [first[case_id]])
    later = opened(ids[1])

    class MovesOnWhilePublishing:
        """The bus, except that the second aggregate gets a new event while its first one goes out."""

        service = rt.bus.service

        async def publish_event(self, event, *, trace_headers=None):
            ack = await rt.bus.publish_event(event, trace_headers=trace_headers)
            if event["id"] == first[ids[1]].id:
                await store.save_aggregate(col, await col.find_one({"_id": ids[1]}), {}, [later])
            return ack

    relay = OutboxRelay(MovesOnWhilePublishing(), [col], poll_seconds=3600)  # type: ignore[arg-type]
    assert await relay.drain() == 3
    docs = {d["_id"]: d async for d in col.find({"_id": {"$in": ids}})}
    assert [docs[i]["outbox_pending"] for i in ids] == [False, True, False]
    assert [e["id"] for e in docs[ids[1]]["outbox"]] == [later.id]  # only what went out was removed
    assert await relay.drain() == 1
    assert not (await col.find_one({"_id": ids[1]}))["outbox_pending"]
    published = [e["id"] for e in await events_on(nats_client, subjects.MEDIATION_OPENED)]
    assert sorted(published) == sorted([*(e.id for e in first.values()), later.id])  # each once
