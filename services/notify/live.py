"""What notify's live stream (an inbox's new messages) makes of its own events.

An inbox message is delivered by being stored, and its dispatch.notification.sent is published from
the message's outbox after that: the hub reads the stored message once per replica and keeps it with
the inbox it is in (`unit:<code>`, `unit_leader:<code>`, `role:<role>`; a petitioner's inbox is read
through the portal, not streamed).
"""

from dataclasses import dataclass
from typing import Any

from dispatch_common import subjects
from dispatch_common.live import Item, Prepare, one_by_one
from services.notify.adapters.repository import Messages


@dataclass(frozen=True)
class InboxMessage:
    """A message that arrived in an inbox."""

    owner: str
    doc: dict[str, Any]


def inbox_reader(messages: Messages) -> Prepare:
    """The hub's `prepare`: the stored message of a notification.sent on the inbox channel (few of
    the events it reads are: one read each)."""

    async def prepare(seq: int, event: dict[str, Any]) -> InboxMessage | None:
        data = event.get("data") or {}
        if event.get("type") != subjects.NOTIFICATION_SENT or data.get("channel") != "inbox":
            return None
        doc = await messages.get(data["notification_id"])
        owner = doc.get("inbox_owner") if doc else None
        if doc is None or not owner or owner.startswith("petitioner:"):
            return None
        return InboxMessage(owner, doc)

    return one_by_one(prepare)


def inbox_message(item: Item) -> InboxMessage:
    """The message an item of notify's hub carries."""
    value: InboxMessage = item.value
    return value
