"""Each NATS identity is held to its own subjects by the real server with the generated configuration.

A denied publish or subscription is answered by the server with a permissions violation naming the
subject (nats-py hands it to the error callback; a JetStream request then gets no answer) and leaves
the streams untouched. The allowed counterpart of each denial is tried too, so a test cannot pass on a
connection that simply does not work.
"""

import asyncio
import json
import uuid
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from devtools.nats_auth import connect_options
from dispatch_common import subjects
from dispatch_common.envelope import make_event
from dispatch_common.nats_permissions import outcome_consumer
from dispatch_common.settings import ServiceSettings
from dispatch_common.streams import ensure_consumer, ensure_stream, platform_streams, system_streams
from dispatch_common.systems import load_systems

pytestmark = pytest.mark.integration

SYSTEMS = {s.id: s for s in load_systems()}
GRID, HOTLINE = SYSTEMS["grid-app"], SYSTEMS["hotline-12345"]
DENIED_WAIT = 1.0  # how long a request waits for the answer a denied request never gets


class Identity:
    """A client connected as one user, keeping the violations the server reported to it."""

    def __init__(self, nc: NatsClient, violations: list[str]) -> None:
        self.nc, self.violations, self.js = nc, violations, nc.jetstream(timeout=DENIED_WAIT)

    async def denied(self, subject: str) -> bool:
        """True once the server reported a permissions violation naming this subject."""
        await self.nc.flush()
        for _ in range(40):
            if any(subject.lower() in v.lower() for v in self.violations):
                return True
            await asyncio.sleep(0.05)
        return False


@pytest.fixture
async def connect(nats_url: str, run_dir: Path):
    clients: list[NatsClient] = []

    async def as_user(user: str) -> Identity:
        violations: list[str] = []

        async def on_error(exc: Exception) -> None:
            violations.append(str(exc))

        nc = await nats.connect(nats_url, error_cb=on_error, **connect_options(run_dir / "keys", user))
        clients.append(nc)
        return Identity(nc, violations)

    yield as_user
    for nc in clients:
        await nc.close()


@pytest.fixture
async def platform(nats_client: NatsClient) -> NatsClient:
    """The streams and outcome consumers as intake declares them, made by ops."""
    js = nats_client.jetstream()
    settings = ServiceSettings(environment="test")
    for config in platform_streams(settings):
        await ensure_stream(js, config)
    for system in SYSTEMS.values():
        for config in system_streams(settings, system):
            await ensure_stream(js, config)
        reads = outcome_consumer(system)
        await ensure_consumer(
            js,
            reads.stream,
            ConsumerConfig(
                durable_name=reads.durable, filter_subject=reads.subject, ack_policy=AckPolicy.EXPLICIT
            ),
        )
    return nats_client


def _event(event_type: str, **data: object) -> bytes:
    return make_event(type=event_type, source="/test", subject="c", data=dict(data)).to_bytes()


async def _count(ops: NatsClient, stream: str) -> int:
    return (await ops.jetstream().stream_info(stream)).state.messages


async def test_a_system_publishes_only_into_its_own_ingress_subtree(platform, connect):
    grid = await connect(GRID.id)
    own = subjects.ingress_subject(GRID.id, subjects.INGRESS_CASE_SUBMIT)
    ack = await grid.js.publish(own, b"{}", headers={"Nats-Msg-Id": str(uuid.uuid4())})
    assert ack.stream == subjects.ingress_stream(GRID.id)

    for subject in (
        subjects.ingress_subject(HOTLINE.id, subjects.INGRESS_CASE_SUBMIT),
        subjects.CASE_ASSIGNED,
    ):
        with pytest.raises(TimeoutError):
            await grid.js.publish(subject, _event(subjects.CASE_ASSIGNED))
        assert await grid.denied(subject)
    assert await _count(platform, subjects.ingress_stream(HOTLINE.id)) == 0
    assert await _count(platform, subjects.DISPATCH_STREAM) == 0
    with pytest.raises(TimeoutError):
        await grid.js.publish("dlq.intake-ingress-grid-app", b"{}")
    assert await grid.denied("dlq.intake-ingress-grid-app")


async def test_a_system_reads_its_own_answers_and_no_other_systems(platform, connect):
    intake = await connect("intake")
    for system in (GRID, HOTLINE):
        subject = subjects.outcome_subject(system.id, subjects.OUTCOME_RECEIVED)
        await intake.js.publish(subject, system.id.encode())
    grid = await connect(GRID.id)

    mine = await grid.js.pull_subscribe_bind(
        subjects.outcome_durable(GRID.id), stream=subjects.outcome_stream(GRID.id)
    )
    [answer] = await mine.fetch(1, timeout=5)
    await answer.ack_sync()
    assert answer.data == GRID.id.encode()

    theirs = await grid.js.pull_subscribe_bind(
        subjects.outcome_durable(HOTLINE.id), stream=subjects.outcome_stream(HOTLINE.id)
    )
    with pytest.raises(TimeoutError):
        await theirs.fetch(1, timeout=DENIED_WAIT)
    assert await grid.denied(f"$JS.API.CONSUMER.MSG.NEXT.{subjects.outcome_stream(HOTLINE.id)}")
    raw = await grid.nc.subscribe(subjects.outcome_subjects(HOTLINE.id))
    assert await grid.denied(f'subscription to "{subjects.outcome_subjects(HOTLINE.id)}"')
    assert raw.pending_msgs == 0
    # nor another user's replies, nor a consumer of its own making on another system's outcomes
    await grid.nc.subscribe("_INBOX_intake.>")
    assert await grid.denied('subscription to "_inbox_intake.>"')
    with pytest.raises(TimeoutError):
        await grid.js.add_consumer(
            subjects.outcome_stream(HOTLINE.id),
            ConsumerConfig(name="theirs", filter_subject=subjects.outcome_subjects(HOTLINE.id)),
        )
    assert await grid.denied(f"$JS.API.CONSUMER.CREATE.{subjects.outcome_stream(HOTLINE.id)}.theirs")
    info = await platform.jetstream().consumer_info(
        subjects.outcome_stream(HOTLINE.id), subjects.outcome_durable(HOTLINE.id)
    )
    assert info.num_pending == 1  # the other system's answer is still waiting for it


async def test_a_system_replays_its_own_outcomes_from_a_sequence_but_not_from_notifys_consumer(
    platform, connect
):
    intake = await connect("intake")
    stream = subjects.outcome_stream(GRID.id)
    for n in range(3):
        await intake.js.publish(subjects.outcome_subject(GRID.id, subjects.OUTCOME_CLOSED), f"{n}".encode())
    ops = platform.jetstream()
    pusher = subjects.feed_pusher_durable(GRID.id)
    await ops.add_consumer(stream, ConsumerConfig(durable_name=pusher, ack_policy=AckPolicy.EXPLICIT))
    grid = await connect(GRID.id)
    replay = ConsumerConfig(
        name=f"replay-{uuid.uuid4().hex[:8]}",
        filter_subject=subjects.outcome_subjects(GRID.id),
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=2,
        ack_policy=AckPolicy.EXPLICIT,
        inactive_threshold=60.0,
    )
    created = await grid.js.add_consumer(stream, config=replay)
    sub = await grid.js.pull_subscribe_bind(created.name, stream=stream)
    got = await sub.fetch(2, timeout=5)
    assert [m.data for m in got] == [b"1", b"2"]
    assert (await grid.js.stream_info(stream)).state.messages == 3
    await grid.js.delete_consumer(stream, created.name)
    # the consumer notify delivers the system's webhooks from is not the system's to read or change
    theirs = await grid.js.pull_subscribe_bind(pusher, stream=stream)
    with pytest.raises(TimeoutError):
        await theirs.fetch(1, timeout=DENIED_WAIT)
    assert await grid.denied(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{pusher}")
    with pytest.raises(TimeoutError):
        await grid.js.delete_consumer(stream, pusher)
    assert await grid.denied(f"$JS.API.CONSUMER.DELETE.{stream}.{pusher}")
    assert (await ops.consumer_info(stream, pusher)).num_pending == 3


@pytest.mark.parametrize("user", ["grid-app", "intake", "supervision"])
async def test_neither_a_system_nor_a_service_may_purge_or_delete_a_stream(platform, connect, user):
    await platform.jetstream().publish(subjects.CASE_RECEIVED, _event(subjects.CASE_RECEIVED))
    someone = await connect(user)
    for stream in (subjects.DISPATCH_STREAM, subjects.ingress_stream(GRID.id)):
        with pytest.raises(TimeoutError):
            await someone.js.purge_stream(stream)
        assert await someone.denied(f"$JS.API.STREAM.PURGE.{stream}")
        with pytest.raises(TimeoutError):
            await someone.js.delete_stream(stream)
        assert await someone.denied(f"$JS.API.STREAM.DELETE.{stream}")
    assert await _count(platform, subjects.DISPATCH_STREAM) == 1


async def test_a_system_may_not_make_or_change_a_stream(platform, connect):
    grid = await connect(GRID.id)
    own = subjects.ingress_stream(GRID.id)
    for call, api in (
        (
            grid.js.update_stream(StreamConfig(name=own, subjects=["dispatch.>", "ingress.grid-app.>"])),
            "UPDATE",
        ),
        (grid.js.add_stream(StreamConfig(name="MINE", subjects=["mine.>"])), "CREATE"),
        (grid.js.stream_info(own), "INFO"),
    ):
        with pytest.raises(TimeoutError):
            await call
        assert await grid.denied(f"$JS.API.STREAM.{api}.")
    info = await platform.jetstream().stream_info(own)
    assert info.config.subjects == [subjects.ingress_subjects(GRID.id)]


async def test_a_service_publishes_only_the_event_types_it_produces(platform, connect):
    routing = await connect("routing")
    ack = await routing.js.publish(subjects.CASE_ROUTED, _event(subjects.CASE_ROUTED))
    assert ack.stream == subjects.DISPATCH_STREAM
    for subject in (
        subjects.CASE_ASSIGNED,
        subjects.outcome_subject(GRID.id, subjects.OUTCOME_RECEIVED),
    ):
        with pytest.raises(TimeoutError):
            await routing.js.publish(subject, _event(subjects.CASE_ASSIGNED))
        assert await routing.denied(subject)
    assert await _count(platform, subjects.DISPATCH_STREAM) == 1
    assert await _count(platform, subjects.outcome_stream(GRID.id)) == 0


async def test_a_service_reads_only_its_own_consumers(platform, connect):
    ops = platform.jetstream()
    await ops.add_consumer(
        subjects.DISPATCH_STREAM,
        ConsumerConfig(durable_name=subjects.NOTIFY_EVENTS, filter_subject=subjects.CASE_ASSIGNED),
    )
    await ops.publish(subjects.CASE_ASSIGNED, _event(subjects.CASE_ASSIGNED))
    routing = await connect("routing")
    sub = await routing.js.pull_subscribe_bind(subjects.NOTIFY_EVENTS, stream=subjects.DISPATCH_STREAM)
    with pytest.raises(TimeoutError):
        await sub.fetch(1, timeout=DENIED_WAIT)
    assert await routing.denied(f"$JS.API.CONSUMER.MSG.NEXT.DISPATCH.{subjects.NOTIFY_EVENTS}")
    notify = await connect("notify")
    own = await notify.js.pull_subscribe_bind(subjects.NOTIFY_EVENTS, stream=subjects.DISPATCH_STREAM)
    [msg] = await own.fetch(1, timeout=5)
    assert json.loads(msg.data)["type"] == subjects.CASE_ASSIGNED


async def test_only_a_services_own_replicas_hear_and_ask_its_reloads(connect):
    intake_reload = subjects.reload_subject("intake")
    routing = await connect("routing")
    await routing.nc.subscribe(intake_reload)
    assert await routing.denied(intake_reload)
    await routing.nc.publish(intake_reload, b"{}")
    assert await routing.denied(intake_reload)
    system = await connect(GRID.id)
    await system.nc.publish(intake_reload, b"{}")
    assert await system.denied(intake_reload)

    intake, other_replica = await connect("intake"), await connect("intake")
    heard = await other_replica.nc.subscribe(intake_reload)
    await other_replica.nc.flush()
    await intake.nc.publish(intake_reload, b'{"from": "intake-a"}')
    msg = await heard.next_msg(timeout=5)
    assert json.loads(msg.data) == {"from": "intake-a"}
    assert not intake.violations and not other_replica.violations
