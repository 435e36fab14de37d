"""Server-sent events over a live hub (dispatch_common/live.py): the wire format every stream shares.

A connection registers at the hub, replays what it missed after `Last-Event-ID` (from the hub's window
or JetStream), says `ready` with its position, then sends what the hub offers it, each message's `id`
the stream sequence of its event. `: ping` comments keep it alive; a send that does not complete
within `live_send_timeout_seconds` (a reader that stopped reading) ends the connection, and so does a
queue that filled up (dispatch_common/live.py). sse-starlette writes the wire format and watches for
the client going away.
"""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from dispatch_common.live import Gone, Hub, Item, Subscriber, Wants
from dispatch_common.settings import ServiceSettings

RETRY_MILLISECONDS = 3000
MEDIA_TYPE = "text/event-stream"

Message = tuple[str, dict[str, Any]]
"""An event name and its JSON payload."""
View = Callable[[Item], Awaitable[list[Message]]]
"""What one connection is sent of an item it wanted (its caller's scope applied)."""

LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", max_length=32, description="the `id` of the last message received"),
]
"""The header a reader resumes with (a `fetch` reader sends it; EventSource does on its own)."""

STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A stream of server-sent events (docs/api.md, Live streams)",
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    },
    503: {"description": "The replica does not read the event stream yet (NATS is not there)"},
}
"""What the OpenAPI document says a stream answers."""
STREAM_ROUTE: dict[str, Any] = {"response_class": EventSourceResponse, "responses": STREAM_RESPONSES}
"""What a stream's route declares beside its path and summary (`@router.get(path, **STREAM_ROUTE)`)."""


def streams_router() -> APIRouter:
    """A service's router of live streams, under /v1/streams."""
    return APIRouter(prefix="/v1/streams", tags=["live streams"])


def available(hub: Hub | None) -> Hub:
    """The service's hub, or 503 where it has none."""
    if hub is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "live updates are not available")
    return hub


def _plain(value: Any) -> str:
    """JSON for what JSON lacks: a time in ISO 8601, anything else as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def to_json(data: dict[str, Any]) -> str:
    """A message's data: one line of JSON (times in ISO 8601)."""
    return json.dumps(data, ensure_ascii=False, default=_plain, separators=(",", ":"))


def _sse(name: str, data: dict[str, Any], position: int | None) -> ServerSentEvent:
    return ServerSentEvent(
        data=to_json(data),
        event=name,
        id=None if position is None else str(position),
    )


def position_of(last_event_id: str | None) -> int | None:
    """A `Last-Event-ID` as a position; a value that is none (-1) is answered with a reset."""
    if last_event_id is None or not last_event_id.strip():
        return None
    try:
        return max(int(last_event_id.strip()), -1)
    except ValueError:
        return -1


def reset(position: int, reason: str) -> ServerSentEvent:
    """What tells a reader to reload: its position is gone."""
    return _sse("reset", {"reason": reason, "position": position}, position)


async def _events(
    hub: Hub, subscriber: Subscriber, backlog: list[Item] | None, after: int | None, upto: int, view: View
) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(retry=RETRY_MILLISECONDS)
    last = upto
    if after == -1:
        yield reset(upto, "Last-Event-ID is no position of this stream")
    elif after is not None and after > upto and not await hub.reached(after):
        yield reset(upto, f"position {after} is beyond the stream")
    elif after is not None:
        last = max(after, upto)
        try:
            replayed = hub.replay(after, upto, subscriber.wants) if backlog is None else _each(backlog)
            async for item in replayed:
                for name, data in await view(item):
                    yield _sse(name, data, item.seq)
        except Gone as gone:
            yield reset(upto, str(gone))
    yield _sse("ready", {"position": last}, last)
    while True:
        item = await subscriber.queue.get()
        if item is None:  # cut off (too far behind) or the replica stops
            return
        if item.seq <= last:  # sent already (by the replay, or before a reconnect to a replica behind)
            continue
        last = item.seq
        for name, data in await view(item):
            yield _sse(name, data, item.seq)


async def _each(items: list[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item


def stream(
    hub: Hub,
    settings: ServiceSettings,
    *,
    last_event_id: str | None,
    wants: Wants,
    view: View,
    first: list[Message] | None = None,
) -> EventSourceResponse:
    """The server-sent events of one connection: what it missed after `last_event_id`, then live."""
    if not hub.started.is_set():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "live updates are not available yet")
    after = position_of(last_event_id)
    subscriber, backlog, upto = hub.subscribe(wants, None if after == -1 else after)

    async def content() -> AsyncIterator[ServerSentEvent]:
        try:
            for name, data in first or []:
                yield _sse(name, data, None)
            async for message in _events(hub, subscriber, backlog, after, upto, view):
                yield message
        finally:
            hub.unsubscribe(subscriber)

    return response(content(), settings)


def response(content: AsyncIterator[ServerSentEvent], settings: ServiceSettings) -> EventSourceResponse:
    """An event stream with the heartbeat and send timeout of the settings, never cached."""
    return EventSourceResponse(
        content,
        ping=settings.live_heartbeat_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
        send_timeout=settings.live_send_timeout_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
