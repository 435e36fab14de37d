"""The live-update mechanism on the real nats-server: one ordered reader per replica, server-sent events
over HTTP (uvicorn on 127.0.0.1), resume by Last-Event-ID from the window and from JetStream, reset
when JetStream lost the position, heartbeats, a slow reader cut off, and what the permission a
streaming service has on DISPATCH does not allow."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig
from nats.js.errors import Error as JetStreamError

from devtools.stack import free_port
from dispatch_common import subjects
from dispatch_common.live import Hub, Item, one_by_one
from dispatch_common.live_http import LastEventId, Message, stream
from dispatch_common.runtime import Runtime
from dispatch_common.settings import ServiceSettings
from tests.live_support import AsyncReader, Collected

pytestmark = pytest.mark.integration

SUBJECT = subjects.CASE_PROGRESSED


async def note(seq: int, event: dict[str, Any]) -> dict[str, Any]:
    return event["data"]


async def shown(item: Item) -> list[Message]:
    return [("note", item.value)]


class Served:
    """A service's hub behind one stream endpoint, on a real HTTP server."""

    def __init__(self, settings: ServiceSettings, hub: Hub, server: uvicorn.Server, port: int) -> None:
        self.settings, self.hub, self.server = settings, hub, server
        self.url = f"http://127.0.0.1:{port}/stream"


@pytest.fixture
async def serve(make_settings, runtimes) -> AsyncIterator[Callable[..., Any]]:
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> Served:
        settings = make_settings(service_name="supervision", **overrides)
        runtime = Runtime(settings)
        hub = runtime.live(
            Hub(
                "test",
                filters=(SUBJECT,),
                prepare=one_by_one(note),
                window=settings.live_window,
                queue_size=settings.live_queue_size,
            )
        )
        await runtime.start()
        runtimes.append(runtime)
        await asyncio.wait_for(hub.started.wait(), 20)
        app = FastAPI()

        @app.get("/stream")
        async def endpoint(last_event_id: LastEventId = None) -> Any:
            return stream(hub, settings, last_event_id=last_event_id, wants=lambda item: True, view=shown)

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn says so with a flag only)
            await asyncio.sleep(0.02)
        servers.append((server, task))
        return Served(settings, hub, server, port)

    yield start
    for server, task in servers:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def publish(nats_client, *numbers: int) -> list[int]:
    """Publish one event per number; their stream sequences."""
    js = nats_client.jetstream()
    acks = [
        await js.publish(SUBJECT, json.dumps({"type": SUBJECT, "data": {"n": n}}).encode(), stream="DISPATCH")
        for n in numbers
    ]
    return [ack.seq for ack in acks]


def notes(got: Collected) -> list[tuple[int, int]]:
    return [(int(m.id or 0), m.data["n"]) for m in got.named("note")]


async def test_a_reader_resumes_from_the_window_and_from_jetstream_without_loss_or_repeat(
    serve, nats_client
) -> None:
    served = await serve(live_window=3)
    async with httpx.AsyncClient() as client:
        live = AsyncReader(client, served.url).start()
        await live.until(Collected.ready)
        seqs = await publish(nats_client, *range(1, 9))
        await live.until(lambda got: len(got.named("note")) == 8)
        assert notes(live.got) == list(zip(seqs, range(1, 9), strict=True))

        # within the window (the last 3): the two after the 6th
        near = AsyncReader(client, served.url, {"Last-Event-ID": str(seqs[5])}).start()
        # older than the window: from JetStream by sequence, the six after the 2nd
        far = AsyncReader(client, served.url, {"Last-Event-ID": str(seqs[1])}).start()
        await near.until(Collected.ready)
        await far.until(Collected.ready)
        assert served.hub.floor > seqs[1]  # the window no longer held what `far` missed
        assert notes(near.got) == list(zip(seqs[6:], [7, 8], strict=True))
        assert notes(far.got) == list(zip(seqs[2:], range(3, 9), strict=True))
        assert near.got.ready().id == far.got.ready().id == str(seqs[-1])

        [ninth] = await publish(nats_client, 9)
        for reader in (live, near, far):
            await reader.until(lambda got: any(m.id == str(ninth) for m in got.named("note")))
        await asyncio.sleep(0.3)  # nothing more may come: no repeats
        assert notes(far.got) == list(zip([*seqs[2:], ninth], range(3, 10), strict=True))
        assert notes(near.got) == [(seqs[6], 7), (seqs[7], 8), (ninth, 9)]
        assert len(notes(live.got)) == 9
        for reader in (live, near, far):
            await reader.close()


async def test_a_position_jetstream_no_longer_holds_is_answered_with_a_reset(serve, nats_client) -> None:
    served = await serve(live_window=1)
    async with httpx.AsyncClient() as client:
        live = AsyncReader(client, served.url).start()
        await live.until(Collected.ready)
        seqs = await publish(nats_client, 1, 2, 3)
        await live.until(lambda got: len(got.named("note")) == 3)
        await nats_client.jetstream().purge_stream("DISPATCH")

        lost = AsyncReader(client, served.url, {"Last-Event-ID": str(seqs[0])}).start()
        await lost.until(Collected.ready)
        assert [m.event for m in lost.got.received if m.event] == ["reset", "ready"]
        assert lost.got.named("reset")[0].data["position"] == seqs[-1]

        nonsense = AsyncReader(client, served.url, {"Last-Event-ID": "yesterday"}).start()
        beyond = AsyncReader(client, served.url, {"Last-Event-ID": str(seqs[-1] + 1000)}).start()
        for reader in (nonsense, beyond):  # none of this stream's positions
            await reader.until(Collected.ready)
            assert [m.event for m in reader.got.received if m.event] == ["reset", "ready"]

        [fourth] = await publish(nats_client, 4)
        for reader in (lost, nonsense, beyond):  # after the reset, live as any other reader
            await reader.until(lambda got: notes(got) == [(fourth, 4)])
        for reader in (live, lost, nonsense, beyond):
            await reader.close()


async def test_an_idle_stream_sends_heartbeats(serve) -> None:
    served = await serve(live_heartbeat_seconds=0.2)
    async with httpx.AsyncClient() as client:
        idle = AsyncReader(client, served.url).start()
        await idle.until(lambda got: len([m for m in got.received if m.comment == "ping"]) >= 2)
        assert idle.got.status == 200
        assert [m.event for m in idle.got.received if m.event] == ["ready"]
        assert served.hub.connections == 1
        await idle.close()
    # a reader gone is forgotten: the hub feeds nothing for it
    async with asyncio.timeout(10):
        while served.hub.connections:  # noqa: ASYNC110 (the server notices the disconnect)
            await asyncio.sleep(0.05)


async def test_a_reader_that_falls_behind_is_cut_off_and_the_others_are_not(serve, nats_client) -> None:
    served = await serve(live_queue_size=4)
    hub = served.hub
    stalled, _, _ = hub.subscribe(lambda item: True, None)  # a connection whose reader stopped reading
    async with httpx.AsyncClient() as client:
        keeping_up = AsyncReader(client, served.url).start()
        await keeping_up.until(Collected.ready)
        assert hub.connections == 2
        await publish(nats_client, *range(1, 7))
        await keeping_up.until(lambda got: len(got.named("note")) == 6)
        assert stalled.cut
        assert hub.connections == 1  # the hub no longer feeds it
        queued = [stalled.queue.get_nowait() for _ in range(stalled.queue.qsize())]
        assert [i.value["n"] for i in queued if i is not None] == [1, 2, 3, 4] and queued[-1] is None
        await keeping_up.close()


async def test_the_ephemeral_permission_of_a_streaming_service_makes_no_durable_consumer(
    serve, nats_connect
) -> None:
    await serve()  # DISPATCH exists, read by the hub as `supervision`
    nc = await nats_connect("supervision")
    js = nc.jetstream()
    try:
        for config in (
            ConsumerConfig(durable_name="live-sneaky", filter_subject=SUBJECT),
            ConsumerConfig(name=subjects.NOTIFY_EVENTS, filter_subject=SUBJECT),
        ):
            with pytest.raises((JetStreamError, NatsError, TimeoutError)):
                await js.add_consumer("DISPATCH", config, timeout=2)
        # the ephemeral subject it may use refuses a durable name in the request
        request = {"stream_name": "DISPATCH", "config": {"durable_name": "live-sneaky", "ack_policy": "none"}}
        answer = await nc.request("$JS.API.CONSUMER.CREATE.DISPATCH", json.dumps(request).encode(), timeout=2)
        assert "error" in json.loads(answer.data), answer.data
    finally:
        await nc.close()
