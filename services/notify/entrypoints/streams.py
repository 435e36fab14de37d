"""Notify's live stream: the caller's inbox (docs/api.md, Live streams)."""

from sse_starlette import EventSourceResponse

from dispatch_common.live import Item
from dispatch_common.live_http import STREAM_ROUTE, LastEventId, Message, available, stream, streams_router
from services.notify.entrypoints.api import inbox_owners, message_view
from services.notify.entrypoints.deps import CurrentUser, NotifyDeps
from services.notify.live import inbox_message

router = streams_router()


@router.get(
    "/inbox",
    summary="The caller's inbox, live: each new message",
    **STREAM_ROUTE,
)
async def inbox_stream(
    user: CurrentUser, notify: NotifyDeps, last_event_id: LastEventId = None
) -> EventSourceResponse:
    """`message` events: a new message in the caller's unit's, its leader's or its role's inbox, as
    `GET /v1/inbox` lists it (unread)."""
    hub = available(notify.live)
    owners = inbox_owners(user)

    def wants(item: Item) -> bool:
        return inbox_message(item).owner in owners

    async def view(item: Item) -> list[Message]:
        doc = inbox_message(item).doc
        await notify.confidentiality.shown(user, [doc], "inbox stream")
        return [("message", message_view(doc) | {"read": False, "read_at": None})]

    return stream(hub, notify.settings, last_event_id=last_event_id, wants=wants, view=view)
