"""The directory of proxy agents in supervision's store, with every change kept.

`agents` holds one document per agent at its current `revision`; a change is a compare-and-set on
that revision, and `agent_history` keeps, append-only, each change: who made it, when, the fields
before and after. The county package's agents.json seeds agents the store does not have yet; an
agent edited over the API keeps its edits across restarts and reloads.
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import store
from services.supervision.domain.agents import Agent, Tier, serves
from services.supervision.domain.policy import to_ms

FIELDS = ("name", "tier", "area", "unit", "channels", "active")


def _fields(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in FIELDS}


class AgentDirectory:
    """Agents by id, and the history of each."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.agents = db["proxy_agents"]
        self.history = db["proxy_agent_history"]

    async def ensure_indexes(self) -> None:
        """Lists by tier and area in id order; an agent's history in time order."""
        await self.agents.create_index([("tier", ASCENDING), ("area", ASCENDING)])
        await self.agents.create_index("area")
        await self.history.create_index([("agent_id", ASCENDING), ("at_ts", ASCENDING)])

    async def seed(self, agents: list[Agent], at: datetime) -> int:
        """Add the package's agents the store does not have; how many were added."""
        added = 0
        for agent in agents:
            doc = {"_id": agent.id, **agent.model_dump(mode="json", exclude={"id"}), "revision": 1}
            try:
                await self.agents.insert_one(doc)
            except DuplicateKeyError:
                continue
            await self._record(
                agent.id, 1, None, _fields(doc), {"subject": "county-package", "role": "seed"}, at
            )
            added += 1
        return added

    async def get(self, agent_id: str) -> dict[str, Any] | None:
        """One agent, or None."""
        return await self.agents.find_one({"_id": agent_id})

    async def create(self, agent: Agent, by: dict[str, Any], at: datetime) -> dict[str, Any] | None:
        """Add an agent at revision 1; None when the id is taken."""
        doc = {"_id": agent.id, **agent.model_dump(mode="json", exclude={"id"}), "revision": 1}
        try:
            await self.agents.insert_one(doc)
        except DuplicateKeyError:
            return None
        await self._record(agent.id, 1, None, _fields(doc), by, at)
        return doc

    async def update(
        self, current: dict[str, Any], changes: dict[str, Any], by: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """Change an agent read at its revision; store.VersionConflict when it changed meanwhile."""
        revision = current["revision"]
        after = {**current, **changes, "revision": revision + 1}
        result = await self.agents.replace_one({"_id": current["_id"], "revision": revision}, after)
        if result.matched_count != 1:
            raise store.VersionConflict(f"agent {current['_id']} is no longer at revision {revision}")
        await self._record(current["_id"], revision + 1, _fields(current), _fields(after), by, at)
        return after

    async def _record(
        self,
        agent_id: str,
        revision: int,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        by: dict[str, Any],
        at: datetime,
    ) -> None:
        await self.history.insert_one(
            {
                "_id": f"{agent_id}|{revision}",
                "agent_id": agent_id,
                "revision": revision,
                "at": at,
                "at_ts": to_ms(at),
                "by": by,
                "before": before,
                "after": after,
            }
        )

    async def serving(self, tier: Tier, area: str) -> dict[str, Any] | None:
        """The first active agent (by id) of a tier whose area contains `area`."""
        found = self.agents.find({"tier": tier.value, "active": True}).sort("_id", ASCENDING)
        async for doc in found:
            if serves(doc["area"], area):
                await found.close()
                return doc
        return None
