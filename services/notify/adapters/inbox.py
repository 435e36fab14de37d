"""Inboxes and who has read what in them: each person keeps their own read state.

A unit's inbox (`unit:<code>`), a leader's (`unit_leader:<code>`) and a role's (`role:supervisor`) are
read by several people, so "read" is per reader: one record per (reader, message) in `inbox_reads`,
its `_id` `<reader>|<message id>`, so marking twice changes nothing and needs no version guard. The
message itself keeps when it was first read by anyone (`read`, `read_at`, `read_by`), which the
listings of a case show as proof of receipt. A petitioner's inbox (`petitioner:<case_id>`) has one
reader, the petitioner (the portal or the window reads it for them): its read state is the message's.
"""

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import paging

# Fields of a message that answers never carry: the encrypted contact and the outbox.
HIDDEN = {"contact_token": 0, "email_token": 0, "outbox": 0, "outbox_pending": 0}
PAGE = 200  # messages read at a time while looking for a reader's unread ones


def per_reader(owner: str) -> bool:
    """Whether an inbox keeps a read state per person (every inbox but a petitioner's)."""
    return not owner.startswith("petitioner:")


def read_id(reader: str, notification_id: str) -> str:
    return f"{reader}|{notification_id}"


def _position(doc: dict[str, Any]) -> tuple[int, str]:
    return doc["created_ts"], doc["_id"]


def _cursor_after(doc: dict[str, Any]) -> str:
    return paging.encode(doc["created_ts"], doc["_id"])


class Inboxes:
    """The inbox messages of `notifications`, and the `inbox_reads` of each reader."""

    def __init__(self, db: AsyncDatabase, notifications: AsyncCollection) -> None:
        self.notifications = notifications
        self.reads: AsyncCollection = db["inbox_reads"]

    async def ensure_indexes(self) -> None:
        """A message's readers (for operators asking who read a letter)."""
        await self.reads.create_index([("notification_id", ASCENDING), ("read_at", ASCENDING)])

    async def page(
        self, owners: list[str], reader: str, *, unread_only: bool, limit: int, cursor: str | None
    ) -> paging.Page:
        """Inboxes merged, newest first (created_ts, then id), from the cursor on, each message with
        `read` and `read_at` as this reader sees them; with `unread_only`, read ones are passed over
        (more are read until the page is full or the inboxes end, so no unread message is skipped)."""
        items: list[dict[str, Any]] = []
        after = cursor
        while True:
            size = PAGE if unread_only else limit
            batch, more = await self._merged(owners, unread_only=unread_only, limit=size, cursor=after)
            for n, doc in enumerate(await self._as_read_by(reader, batch)):
                if unread_only and doc["read"]:
                    continue
                items.append(doc)
                if len(items) == limit:
                    rest = more or n < len(batch) - 1
                    return paging.Page(items, _cursor_after(doc) if rest else None)
            if not more:
                return paging.Page(items, None)
            after = _cursor_after(batch[-1])

    async def _merged(
        self, owners: list[str], *, unread_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """The next `limit` messages of the owners' inboxes together, and whether more follow."""
        pages = await asyncio.gather(
            *(
                paging.page(
                    self.notifications,
                    {"inbox_owner": owner}
                    | ({"read": False} if unread_only and not per_reader(owner) else {}),
                    sort="created_ts",
                    limit=limit,
                    cursor=cursor,
                    descending=True,
                    projection=HIDDEN,
                )
                for owner in owners
            )
        )
        merged = sorted((d for p in pages for d in p.items), key=_position, reverse=True)
        more = len(merged) > limit or any(p.next_cursor for p in pages)
        return merged[:limit], more

    async def _as_read_by(self, reader: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Shared inboxes' messages as this reader sees them; a petitioner's keep the message's state."""
        shared = await self.read_by(reader, [d for d in docs if per_reader(str(d.get("inbox_owner")))])
        seen = {d["_id"]: d for d in shared}
        return [seen.get(d["_id"], d) for d in docs]

    async def read_by(self, reader: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Messages with `read` and `read_at` set as one reader of a shared inbox sees them."""
        if not docs:
            return []
        ids = [read_id(reader, d["_id"]) for d in docs]
        query = {"_id": ids[0]} if len(ids) == 1 else {"_id": {"$in": ids}}
        when = {r["notification_id"]: r["read_at"] async for r in self.reads.find(query)}
        out = []
        for doc in docs:
            at = when.get(doc["_id"])
            if at is None and doc.get("read_by") == reader:  # read before read states were per reader
                at = doc.get("read_at")
            out.append({**doc, "read": at is not None, "read_at": at})
        return out

    async def mark(self, reader: str, doc: dict[str, Any], at: datetime) -> dict[str, Any]:
        """Record that a reader read a message of a shared inbox (once: the first time stays); the
        message as this reader sees it."""
        record = {
            "_id": read_id(reader, doc["_id"]),
            "notification_id": doc["_id"],
            "reader": reader,
            "owner": doc.get("inbox_owner"),
            "read_at": at,
        }
        with contextlib.suppress(DuplicateKeyError):
            await self.reads.insert_one(record)
        [seen] = await self.read_by(reader, [doc])
        return seen
