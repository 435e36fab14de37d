"""A consumer killed mid-stream and restarted loses nothing and duplicates nothing."""

import asyncio
import json
import uuid
from collections import Counter

import pytest
from pymongo import MongoClient

from devtools.stack import Stack
from dispatch_common import subjects
from dispatch_common.envelope import make_event
from tests.e2e.conftest import start_stack
from tests.e2e.flow import wait_for
from tests.helpers import events_on

pytestmark = pytest.mark.e2e

CASES = 300


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A stack of its own: this test kills a service."""
    s = start_stack(tmp_path_factory.mktemp("crash"))
    yield s
    s.stop()


def screened(i: int, sample: dict) -> dict:
    """An accepted case as intake announces it, for routing to place."""
    case_id = str(uuid.uuid4())
    data = {
        "outcome": "accepted",
        "nature": "申诉求决",
        "hotline_nature": None,
        "reason": "受理",
        "rule_id": None,
        "rules_version": "test",
        "transfer_to": None,
        "answer": None,
        "confidential": False,
        "screened_by": "rules",
        "links": {"repeat_of": None, "incident_of": None},
        "case_id": case_id,
        "case_no": f"990102-2026-9{i:05d}",
        "channel": sample["channel"],
        "text": sample["text"],
        "received_at": "2026-11-23T01:00:00+00:00",
        "petitioner": {"anonymous": True},
    }
    data |= {k: sample[k] for k in ("address", "lon", "lat", "people_count") if k in sample}
    return make_event(
        type=subjects.CASE_SCREENED, source="/dispatch/intake", subject=case_id, data=data
    ).to_document()


async def publish_all(stack: Stack, events: list[dict]) -> None:
    import nats

    nc = await nats.connect(**stack.nats_options())
    js = nc.jetstream()
    for e in events:
        await js.publish(subjects.CASE_SCREENED, json.dumps(e).encode(), headers={"Nats-Msg-Id": e["id"]})
    await nc.drain()


async def routed_events(stack: Stack) -> list[dict]:
    import nats

    nc = await nats.connect(**stack.nats_options())
    try:
        return await events_on(nc, subjects.CASE_ROUTED)
    finally:
        await nc.drain()


def test_routing_killed_mid_stream_and_restarted_loses_nothing_and_duplicates_nothing(own_stack, samples):
    located = [s for s in samples if s["expect"].get("town")]
    events = [screened(i, located[i % len(located)]) for i in range(CASES)]
    case_ids = {e["subject"] for e in events}
    mongo = MongoClient(own_stack.mongodb_url, tz_aware=True)
    routes = mongo["dispatch_routing"]["routes"]
    files = mongo["dispatch_supervision"]["case_dossiers"]
    timeline = mongo["dispatch_supervision"]["timeline"]

    asyncio.run(publish_all(own_stack, events))
    wait_for(lambda: routes.count_documents({}) >= CASES // 10, what="routing to be under way")
    own_stack.procs["routing"].kill()  # SIGKILL: no drain, no final outbox flush
    at_kill = routes.count_documents({})
    assert at_kill < CASES, "routing finished before it could be killed; raise CASES"

    own_stack.start_service("routing")
    wait_for(lambda: routes.count_documents({}) == CASES, timeout=120, what="every case routed after restart")
    wait_for(
        lambda: files.count_documents({"status": {"$in": ["assigned", "manual_dispatch"]}}) == CASES,
        timeout=120,
        what="every case file settled",
    )

    routed = asyncio.run(routed_events(own_stack))
    per_case = Counter(e["subject"] for e in routed)
    assert set(per_case) == case_ids  # nothing lost
    assert max(per_case.values()) == 1  # nothing published twice
    assert routes.count_documents({"outbox_pending": True}) == 0
    on_timeline = Counter(d["case_id"] for d in timeline.find({"type": subjects.CASE_ROUTED}))
    assert set(on_timeline) == case_ids and max(on_timeline.values()) == 1
    assigned = Counter(d["case_id"] for d in timeline.find({"type": subjects.CASE_ASSIGNED}))
    assert max(assigned.values()) == 1
    mongo.close()
