"""The in-document outbox and its relay, on the real servers."""

import json
import uuid

import pytest

from bench.notify_fakes import mediation_opened as opened  # a valid event the relay can publish
from dispatch_common import store, subjects
from dispatch_common.contracts import ContractError
from dispatch_common.envelope import make_event
from dispatch_common.outbox import MARK_BATCH, OutboxRelay
from dispatch_common.runtime import Runtime
from tests.helpers import events_on, eventually

pytestmark = pytest.mark.integration


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


async def test_documents_along_a_new_aggregate_go_in_the_same_write_and_only_with_it(make_settings, runtimes):
    rt = await started(make_settings, runtimes)
    col, side = rt.db["aggregates"], rt.db["side"]
    relay = OutboxRelay(rt.bus, [col], poll_seconds=3600)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    along = [(side, {"_id": first, "n": 1})]
    assert await store.insert_aggregate(col, {"_id": first}, [opened(first)], along=along)
    assert await side.find_one({"_id": first}) == {"_id": first, "n": 1}
    # A retry of the same aggregate writes nothing along it.
    again = [(side, {"_id": first, "n": 2})]
    assert not await store.insert_aggregate(col, {"_id": first}, [opened(first)], along=again)
    assert await side.find_one({"_id": first}) == {"_id": first, "n": 1}
    # A document along a new aggregate that exists already is left as it is; the aggregate is stored.
    await side.insert_one({"_id": second, "n": "before"})
    along = [(side, {"_id": second})]
    assert await store.insert_aggregate(col, {"_id": second}, [opened(second)], along=along)
    assert await side.find_one({"_id": second}) == {"_id": second, "n": "before"}
    assert (await col.find_one({"_id": second}))["outbox_pending"]
    assert await relay.hand_over() == 2  # both new aggregates were handed to the relay, the retry not


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

        async def publish_event(self, event, *, trace_headers=None, subject=None):
            ack = await rt.bus.publish_event(event, trace_headers=trace_headers, subject=subject)
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


async def test_a_busy_round_marks_its_documents_sent_in_bounded_bulk_writes(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    relay = OutboxRelay(rt.bus, [col], poll_seconds=3600)
    ids = [str(uuid.uuid4()) for _ in range(MARK_BATCH + 3)]  # one full bulk write and a part of one
    for case_id in ids:
        await store.insert_aggregate(col, {"_id": case_id}, [opened(case_id)])
    assert await relay.hand_over() == len(ids)
    assert not await col.find_one({"outbox_pending": True})
    assert [d["outbox"] async for d in col.find({"_id": {"$in": ids}})] == [[]] * len(ids)
    published = [e["subject"] for e in await events_on(nats_client, subjects.MEDIATION_OPENED)]
    assert sorted(published) == sorted(ids)


async def test_a_failed_publish_fails_the_round_without_sending_that_aggregates_later_events(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    ids = [str(uuid.uuid4()) for _ in range(4)]
    events = {case_id: [opened(case_id), opened(case_id)] for case_id in ids}
    failing = events[ids[1]][0].id
    tried: set[str] = set()

    class FailsOnce:
        """The bus, except that the second aggregate's first event fails the first time."""

        service = rt.bus.service

        async def publish_event(self, event, *, trace_headers=None, subject=None):
            if event["id"] == failing and failing not in tried:
                tried.add(failing)
                raise ConnectionError("no acknowledgement")
            return await rt.bus.publish_event(event, trace_headers=trace_headers, subject=subject)

    relay = OutboxRelay(FailsOnce(), [col], poll_seconds=3600)  # type: ignore[arg-type]
    for case_id in ids:
        await store.insert_aggregate(col, {"_id": case_id}, events[case_id])
    with pytest.raises(ConnectionError):
        await relay.hand_over()
    out = [e["id"] for e in await events_on(nats_client, subjects.MEDIATION_OPENED)]
    assert events[ids[1]][1].id not in out  # never ahead of the earlier event that failed
    assert {e.id for i in (0, 2, 3) for e in events[ids[i]]} <= set(out)  # the others went out side by side
    assert await col.count_documents({"_id": {"$in": ids}, "outbox_pending": True}) == len(ids)

    assert await relay.hand_over() == 2 * len(ids)  # the next round takes the whole round again
    assert not await col.find_one({"_id": {"$in": ids}, "outbox_pending": True})
    out = [e["id"] for e in await events_on(nats_client, subjects.MEDIATION_OPENED)]
    assert sorted(out) == sorted(e.id for es in events.values() for e in es)  # each once, by Nats-Msg-Id
    assert out.index(events[ids[1]][0].id) < out.index(events[ids[1]][1].id)


async def test_a_replica_publishes_its_own_writes_and_sweeps_only_what_another_left_behind(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    relay = OutboxRelay(rt.bus, [col], poll_seconds=3600, sweep_grace_seconds=60)
    mine, theirs, abandoned = (str(uuid.uuid4()) for _ in range(3))
    await store.insert_aggregate(col, {"_id": mine}, [opened(mine)])  # written by this process
    # Written by another replica (not handed to this one): fresh, and one pending for two minutes.
    for case_id, age_ms in ((theirs, 0), (abandoned, 120_000)):
        entries = store.outbox_entries([opened(case_id)])
        written = {
            "version": 1,
            "outbox": entries,
            "outbox_pending": True,
            "outbox_at": store.now_ms() - age_ms,
        }
        await col.insert_one({"_id": case_id, **written})

    assert await relay.hand_over() == 1  # its own write, without reading anything back
    assert await relay.hand_over() == 0  # handed over once
    assert await relay.sweep() == 1  # the abandoned one; the other replica's fresh one is left to it
    pending = {d["_id"] async for d in col.find({"outbox_pending": True})}
    assert pending == {theirs}
    published = {e["subject"] for e in await events_on(nats_client, subjects.MEDIATION_OPENED)}
    assert published == {mine, abandoned}
    assert await relay.drain() == 1 and not await col.find_one({"outbox_pending": True})  # at start: all


async def test_a_running_service_publishes_a_write_at_once_through_the_hand_over(
    make_settings, runtimes, nats_client
):
    rt = Runtime(make_settings(outbox_poll_seconds=3600))  # no sweep during the test
    col = rt.outbox(rt.db["aggregates"])
    await rt.start()
    runtimes.append(rt)
    case_id = str(uuid.uuid4())
    await store.insert_aggregate(col, {"_id": case_id}, [opened(case_id)])
    rt.nudge()
    published = await eventually(
        lambda: events_on(nats_client, subjects.MEDIATION_OPENED), what="the event on the stream"
    )
    assert [e["subject"] for e in published] == [case_id]
    await eventually(lambda: _cleared(col, case_id), what="the outbox marked")


async def _cleared(col, case_id: str) -> bool:
    doc = await col.find_one({"_id": case_id})
    return bool(doc) and not doc["outbox_pending"]


class CountingBus:
    """The bus, counting each event id handed to it (JetStream would hide a second publish)."""

    def __init__(self, bus) -> None:
        self.bus, self.service, self.sent = bus, bus.service, []

    async def publish_event(self, event, *, trace_headers=None, subject=None):
        self.sent.append(event["id"])
        return await self.bus.publish_event(event, trace_headers=trace_headers, subject=subject)


async def test_marks_wait_for_one_bulk_write_and_a_document_written_again_meanwhile_is_not_sent_twice(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    bus = CountingBus(rt.bus)
    relay = OutboxRelay(bus, [col], poll_seconds=3600, mark_delay_seconds=3600)  # type: ignore[arg-type]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    opened_first, later, opened_second = opened(first), opened(first), opened(second)
    await store.insert_aggregate(col, {"_id": first}, [opened_first])
    assert await relay.hand_over() == 1
    assert (await col.find_one({"_id": first}))["outbox_pending"] is True  # published, not yet marked

    # written again before the mark: its outbox holds the published entry and the new one
    await store.save_aggregate(col, await col.find_one({"_id": first}), {}, [later])
    await store.insert_aggregate(col, {"_id": second}, [opened_second])
    assert await relay.hand_over() == 2  # the new entry and the second document; not the first again
    assert bus.sent == [opened_first.id, later.id, opened_second.id]

    assert await relay.mark_published() == 2  # both documents, in one bulk write
    docs = {d["_id"]: d async for d in col.find({"_id": {"$in": [first, second]}})}
    assert all(d["outbox"] == [] and not d["outbox_pending"] for d in docs.values())
    assert await relay.mark_published() == 0 and await relay.drain() == 0
    published = [e["id"] for e in await events_on(nats_client, subjects.MEDIATION_OPENED)]
    assert sorted(published) == sorted([opened_first.id, later.id, opened_second.id])


async def test_marks_lost_in_a_crash_leave_the_documents_pending_and_the_next_start_sends_the_same_ids(
    make_settings, runtimes, nats_client
):
    rt = await started(make_settings, runtimes)
    col = rt.db["aggregates"]
    case_id = str(uuid.uuid4())
    event = opened(case_id)
    crashed = OutboxRelay(rt.bus, [col], poll_seconds=3600, mark_delay_seconds=3600)
    await store.insert_aggregate(col, {"_id": case_id}, [event])
    assert await crashed.hand_over() == 1  # ...and the process dies before its marks are written
    restarted = OutboxRelay(rt.bus, [col], poll_seconds=3600, mark_delay_seconds=3600)
    assert await restarted.drain() == 1  # pending in the store: published again, under the same id
    assert await restarted.mark_published() == 1
    assert not (await col.find_one({"_id": case_id}))["outbox_pending"]
    published = await events_on(nats_client, subjects.MEDIATION_OPENED)
    assert [e["id"] for e in published] == [event.id]  # JetStream dropped the second publish


async def test_a_service_that_stops_marks_what_waited_to_be_marked(make_settings, runtimes, nats_client):
    settings = make_settings(
        outbox_poll_seconds=3600, outbox_mark_delay_seconds=60, outbox_sweep_grace_seconds=3600
    )
    rt = Runtime(settings)
    col = rt.outbox(rt.db["aggregates"])
    await rt.start()
    runtimes.append(rt)
    case_id = str(uuid.uuid4())
    await store.insert_aggregate(col, {"_id": case_id}, [opened(case_id)])
    rt.nudge()
    await eventually(lambda: events_on(nats_client, subjects.MEDIATION_OPENED), what="the event published")
    assert (await col.find_one({"_id": case_id}))["outbox_pending"] is True  # its mark waits
    await rt.stop()
    runtimes.remove(rt)
    assert not await _pending(rt, case_id)  # marked as the service stopped


async def _pending(rt: Runtime, case_id: str) -> bool:
    """Whether the document is pending, read through a client of its own (the service stopped)."""
    client = store.connect(rt.settings.mongodb_url, app_name="test")
    try:
        doc = await client[rt.settings.mongodb_db]["aggregates"].find_one({"_id": case_id})
        return doc["outbox_pending"]
    finally:
        await client.close()


def test_the_mark_delay_must_stay_below_the_sweep_grace(make_settings):
    with pytest.raises(ValueError, match="OUTBOX_MARK_DELAY_SECONDS"):
        make_settings(outbox_mark_delay_seconds=5, outbox_sweep_grace_seconds=5)
