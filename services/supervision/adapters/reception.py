"""Reception sessions: one document per session, with its bookings, the cases taken along and the
receptions recorded inside it (a session holds tens of them), and its outbox. Every change replaces
the whole document under its version guard, so two clerks booking the last place cannot both have it.
"""

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import store
from dispatch_common.envelope import Envelope


class Sessions:
    """The reception calendar."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.sessions = db["reception_sessions"]

    async def ensure_indexes(self) -> None:
        """The calendar pages by start time; filters by leader, town and kind; figures by period."""
        await self.sessions.create_index([("starts_ts", ASCENDING)])
        for field in ("leader.id", "town", "kind", "status"):
            await self.sessions.create_index(field)

    async def get(self, session_id: str) -> dict[str, Any] | None:
        return await self.sessions.find_one({"_id": session_id})

    async def insert(self, doc: dict[str, Any]) -> dict[str, Any]:
        await store.insert_aggregate(self.sessions, doc)
        return {**doc, "version": 1}

    async def save(
        self, doc: dict[str, Any], changes: dict[str, Any], events: list[Envelope] | None = None
    ) -> dict[str, Any]:
        """Apply changes to a session read whole; store.VersionConflict when it changed meanwhile."""
        return await store.save_aggregate(self.sessions, doc, changes, events or [])

    async def in_period(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every session a query finds (the figures' period: a county holds a few a week)."""
        return [doc async for doc in self.sessions.find(query)]
