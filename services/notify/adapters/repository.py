"""Notify's collections: every message (with outbox), its delivery attempts, and notify's view of cases.

A message is inserted with an `_id` derived from (cause event, kind, recipient, channel) before
anything is sent: that insert is the idempotency key, so a redelivered event finds it and sends
nothing more. The sender finds due messages by `due_ts` (integer ms, null when nothing is due) and
interrupted ones by `lease_ts`, both single-field ranges on the portable subset (decision 0006).
"""

import contextlib
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from dispatch_common import store
from dispatch_common.envelope import Envelope
from services.notify.adapters.inbox import Inboxes


class Messages:
    """The `notifications` collection and what goes with it."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.notifications: AsyncCollection = db["notifications"]
        self.attempts: AsyncCollection = db["delivery_attempts"]
        self.cases: AsyncCollection = db["case_views"]
        self.inboxes = Inboxes(db, self.notifications)

    async def ensure_indexes(self) -> None:
        """Messages by case (id and number), due time, lease, inbox and status; attempts by message."""
        n = self.notifications
        await n.create_index([("case_id", ASCENDING), ("created_ts", ASCENDING)])
        await n.create_index("case_id")
        await n.create_index([("case_no", ASCENDING), ("created_ts", ASCENDING)])  # the lists' order
        await n.create_index("case_no")
        await n.create_index("due_ts")
        await n.create_index([("channel", ASCENDING), ("due_ts", ASCENDING)])
        await n.create_index("lease_ts")
        await n.create_index([("inbox_owner", ASCENDING), ("created_ts", DESCENDING)])
        await n.create_index("inbox_owner")
        await n.create_index([("status", ASCENDING), ("created_ts", DESCENDING)])
        await n.create_index("status")
        await self.attempts.create_index("notification_id")
        await self.inboxes.ensure_indexes()

    async def add(self, doc: dict[str, Any], events: Iterable[Envelope] = ()) -> bool:
        """Record a new message; False when recorded before (same cause, kind, recipient, channel)."""
        return await store.insert_aggregate(self.notifications, doc, events)

    async def get(self, notification_id: str) -> dict[str, Any] | None:
        """A message, whole (the sender needs the encrypted contact)."""
        return await self.notifications.find_one({"_id": notification_id})

    async def save(
        self, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Envelope] = ()
    ) -> dict[str, Any]:
        """Version-guarded change of a message with the events it owes; raises store.VersionConflict."""
        return await store.save_aggregate(self.notifications, current, changes, events)

    async def due(self, channel: str, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """Messages of a channel whose next try is due, earliest first."""
        cursor = self.notifications.find({"due_ts": {"$lte": now_ms}, "channel": channel}).sort(
            "due_ts", ASCENDING
        )
        return [doc async for doc in cursor.limit(limit)]

    async def interrupted(self, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """Messages claimed for sending whose lease ran out: their sender stopped mid-way."""
        cursor = self.notifications.find({"lease_ts": {"$lte": now_ms}}).sort("lease_ts", ASCENDING)
        return [doc async for doc in cursor.limit(limit)]

    async def save_many(
        self, items: list[tuple[dict[str, Any], dict[str, Any], list[Envelope]]]
    ) -> list[dict[str, Any] | None]:
        """`save` for several messages in one write: the new states, None for each changed meanwhile."""
        return await store.save_aggregates(self.notifications, items)

    async def record_attempts(self, entries: list[dict[str, Any]]) -> None:
        """Append delivery attempts in one insert (a repeated record is harmless: the id is the try)."""
        await store.insert_new(self.attempts, entries)

    async def record_attempt(self, entry: dict[str, Any]) -> None:
        """Append one delivery attempt (the id makes a repeated record harmless)."""
        with contextlib.suppress(DuplicateKeyError):
            await self.attempts.insert_one(entry)

    async def attempts_of(self, notification_id: str) -> list[dict[str, Any]]:
        """The delivery attempts of a message, in order."""
        cursor = self.attempts.find({"notification_id": notification_id}, {"_id": 0}).sort("n", ASCENDING)
        return [doc async for doc in cursor]

    async def case(self, case_id: str) -> dict[str, Any]:
        """Notify's view of a case (empty when no event of it was seen)."""
        return await self.cases.find_one({"_id": case_id}) or {}

    async def cases_of(self, case_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Notify's views of several cases, by case id, in one query (those it has)."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        query = {"_id": ids[0]} if len(ids) == 1 else {"_id": {"$in": ids}}
        return {doc["_id"]: doc async for doc in self.cases.find(query)}

    async def keep_views(self, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> None:
        """Store the views that changed (from `before`, as read, to `after`) in one write, each under
        its version guard; a view another replica changed meanwhile is merged again on its own."""
        changed = {cid: view for cid, view in after.items() if view != before.get(cid)}
        if not changed:
            return
        writes: list[InsertOne | ReplaceOne] = []
        for case_id, view in changed.items():
            old = before.get(case_id)
            if old is None:
                writes.append(InsertOne({**view, "_id": case_id, "version": 1}))
            else:
                state = {**view, "version": old["version"] + 1}
                writes.append(ReplaceOne({"_id": case_id, "version": old["version"]}, state))
        try:
            result = await self.cases.bulk_write(writes, ordered=False)
            settled = result.inserted_count + result.matched_count == len(writes)
        except BulkWriteError as exc:
            store.duplicate_indexes(exc)  # raises unless a view was only created meanwhile
            settled = False
        if settled:
            return
        stored = await self.cases_of(changed)  # some lost a race: merge their facts into what is there
        for case_id, view in changed.items():
            if stored.get(case_id, {}).get("version") != (before.get(case_id, {}).get("version", 0) + 1):
                facts = {k: v for k, v in view.items() if k not in ("_id", "version")}
                await self.remember(case_id, facts)

    async def add_many(self, items: list[tuple[dict[str, Any], list[Envelope]]]) -> set[str]:
        """Record new messages with the events they owe, in one write; the ids of those recorded now
        (the others were recorded before: same cause, kind, recipient, channel)."""
        return await store.insert_aggregates(self.notifications, items)

    async def replace_view(self, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """A case view with changes, under its version guard (store.VersionConflict when it moved)."""
        state = {**current, **changes, "version": current["version"] + 1}
        result = await self.cases.replace_one({"_id": current["_id"], "version": current["version"]}, state)
        if result.matched_count != 1:
            raise store.VersionConflict(f"case view {current['_id']} changed meanwhile")
        return state

    async def remember(self, case_id: str, facts: dict[str, Any]) -> dict[str, Any]:
        """Add what an event tells of a case to notify's view of it; the view after."""

        async def attempt() -> dict[str, Any]:
            current = await self.cases.find_one({"_id": case_id})
            if current is None:
                doc = {"_id": case_id, **facts, "version": 1}
                try:
                    await self.cases.insert_one(doc)
                    return doc
                except DuplicateKeyError as exc:
                    raise store.VersionConflict(f"case view {case_id} created meanwhile") from exc
            if all(current.get(k) == v for k, v in facts.items()):
                return current
            state = {**current, **facts, "version": current["version"] + 1}
            result = await self.cases.replace_one({"_id": case_id, "version": current["version"]}, state)
            if result.matched_count != 1:
                raise store.VersionConflict(f"case view {case_id} changed meanwhile")
            return state

        return await store.retry_on_conflict(attempt)
