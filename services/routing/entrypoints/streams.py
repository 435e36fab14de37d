"""Routing's live stream: the manual dispatch queue (docs/api.md, Live streams)."""

from sse_starlette import EventSourceResponse

from dispatch_common.live import Item
from dispatch_common.live_http import STREAM_ROUTE, LastEventId, Message, available, stream, streams_router
from services.routing.entrypoints.api import CurrentUser, RoutingDeps
from services.routing.live import queue_change

router = streams_router()


@router.get(
    "/queue",
    summary="The manual dispatch queue, live: cases entering it and leaving it",
    **STREAM_ROUTE,
)
async def queue_stream(
    user: CurrentUser, routing: RoutingDeps, last_event_id: LastEventId = None
) -> EventSourceResponse:
    """`entered` when routing sends a case to people, `left` when a route places it; a confidential
    report only to the roles that read every report."""
    hub = available(routing.live)
    readers_only = not routing.confidentiality.reads_every_report(user)

    def wants(item: Item) -> bool:
        return not (readers_only and queue_change(item).confidential)

    async def view(item: Item) -> list[Message]:
        change = queue_change(item)
        if change.confidential:
            await routing.confidentiality.shown(user, [change.data], "queue stream")
        return [(change.name, change.data)]

    return stream(hub, routing.runtime.settings, last_event_id=last_event_id, wants=wants, view=view)
