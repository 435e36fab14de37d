"""Representation (代办): which proxy agent carries which case, with the petitioner's consent, and the
climb between tiers (村 → 镇 → 县) when a case is not resolved (化解) at a tier in the policy's time.

One document per represented case in `representations` (with its outbox): the agent carrying it now,
its tier and area, since when and until when at that tier (`tier_due_ts`, what the scanner looks
for), every agent that has carried it (`agents`: they all follow it), the consent. Each step (taken
up, escalated, resolved) is also kept append-only in `representation_steps`.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import store, subjects
from dispatch_common.clock import Clock
from dispatch_common.envelope import Envelope, make_event
from services.supervision.adapters.agents import AgentDirectory
from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.agents import Tier, TierPolicy
from services.supervision.domain.policy import to_ms

log = logging.getLogger("dispatch.supervision")
SOURCE = "supervision"
RESOLVED_RATINGS = frozenset({"satisfied", "basically_satisfied"})
SETTLED = frozenset({"followed_up", "closed"})


def resolved(case: dict[str, Any] | None) -> bool:
    """化解: the case is followed up or closed and the petitioner accepted the answer (满意, 基本满意)."""
    if not case or case.get("status") not in SETTLED:
        return False
    return (case.get("rating") or {}).get("rating") in RESOLVED_RATINGS


def still_open(case: dict[str, Any] | None) -> bool:
    """Whether an agent still has work on the case: neither resolved nor closed."""
    return not resolved(case) and (case or {}).get("status") != "closed"


class AlreadyRepresented(Exception):
    """The case has an agent already (HTTP 409)."""


class Representations:
    """Who represents whom, and the tier escalations of represented cases."""

    def __init__(self, db: AsyncDatabase, directory: AgentDirectory, policy: TierPolicy) -> None:
        self.col = db["representations"]
        self.steps = db["representation_steps"]
        self.directory = directory
        self.policy = policy

    async def ensure_indexes(self) -> None:
        """By the agent following a case, by the tier's due time, by agent for the figures."""
        await self.col.create_index("tier_due_ts")
        await self.col.create_index([("agent_id", ASCENDING), ("taken_ts", ASCENDING)])
        await self.col.create_index("taken_ts")
        await self.steps.create_index([("case_id", ASCENDING), ("n", ASCENDING)])
        await self.steps.create_index([("agent_id", ASCENDING), ("at_ts", ASCENDING)])

    async def of_case(self, case_id: str) -> dict[str, Any] | None:
        """The representation of a case, or None."""
        return await self.col.find_one({"_id": case_id})

    async def represents(self, case_id: str, agent_id: str) -> bool:
        """Whether the agent carries, or has carried, the case."""
        doc = await self.col.find_one({"_id": case_id}, {"agents": 1})
        return doc is not None and agent_id in doc.get("agents", [])

    def carried_by(self, agent_id: str) -> dict[str, Any]:
        """The query of the steps by which an agent came to carry cases (one per case: a case climbs
        only up), for a list in `at_ts` order; the embedded server does not match inside arrays."""
        return {"agent_id": agent_id, "at_ts": {"$gte": 0}}

    def _due(self, tier: str, since: datetime) -> int | None:
        hours = self.policy.rule(tier).hours
        return to_ms(since + timedelta(hours=hours)) if hours else None

    async def take_up(
        self,
        case: dict[str, Any],
        agent: dict[str, Any],
        *,
        how: str,
        consent: dict[str, Any],
        by: dict[str, Any],
        clock: Clock,
    ) -> dict[str, Any]:
        """An agent takes up a case (at intake, by a dispatcher, at the petitioner's request): recorded
        with the consent, announced as dispatch.case.represented. AlreadyRepresented if it has one."""
        now = clock.now()
        doc = {
            "_id": case["_id"],
            "case_id": case["_id"],
            "case_no": case["case_no"],
            "agent_id": agent["_id"],
            "tier": agent["tier"],
            "area": agent["area"],
            "agents": [agent["_id"]],
            "how": how,
            "consent": consent | {"recorded_by": by},
            "taken_at": now,
            "taken_ts": to_ms(now),
            "tier_since": now,
            "tier_due_ts": self._due(agent["tier"], now),
            "open": True,
            "escalations": 0,
        }
        data = {
            "case_id": case["_id"],
            "case_no": case["case_no"],
            "agent_id": agent["_id"],
            "agent_name": agent["name"],
            "tier": agent["tier"],
            "area": agent["area"],
            "how": how,
            "agents": [agent["_id"]],
            "consent": {"method": consent["method"], "given_at": consent["given_at"]},
            "by": by,
            "at": now,
        }
        event = make_event(
            type=subjects.CASE_REPRESENTED, source=SOURCE, subject=case["_id"], data=data, clock=clock
        )
        if not await store.insert_aggregate(self.col, doc, [event]):
            raise AlreadyRepresented(f"case {case['case_no']} has an agent already")
        await self._step(doc["_id"], 1, "taken", None, agent, now, how=how)
        return doc | {"version": 1}

    async def record_filing(self, data: dict[str, Any], clock: Clock) -> bool:
        """A case an agent filed at intake (dispatch.case.received `filed_by_agent`): the agent takes
        it up with the consent given there; True when recorded now (False: recorded before, or the
        filing names no active agent of the directory, which is logged)."""
        filing = data.get("filed_by_agent")
        if not filing:
            return False
        agent = await self.directory.get(filing["agent_id"])
        if agent is None or not agent.get("active"):
            log.warning("a filing agent not in the directory", extra={"agent_id": filing["agent_id"]})
            return False
        consent = {
            "method": filing["consent"]["method"],
            "given_at": _datetime(filing["consent"]["given_at"]),
        }
        by = {"subject": agent["_id"], "role": "proxy_agent", "unit": agent.get("unit")}
        case = {"_id": data["case_id"], "case_no": data["case_no"]}
        try:
            await self.take_up(case, agent, how="intake", consent=consent, by=by, clock=clock)
        except AlreadyRepresented:
            return False  # a redelivered event, or the case was given to an agent meanwhile
        return True

    async def escalate_due(self, *, files: CaseFiles, clock: Clock, batch: int = 200) -> int:
        """One pass of the tier scan: each represented case whose time at its tier is up goes to the
        next tier's agent serving its area, unless it is resolved (then it leaves the scan); how many
        moved."""
        now = clock.now()
        due = await self.col.find({"tier_due_ts": {"$lte": to_ms(now)}}).sort("tier_due_ts", 1).to_list(batch)
        cases = await files.get_many([d["_id"] for d in due])
        moved = 0
        for doc in due:
            try:
                moved += await self._escalate(doc, cases.get(doc["_id"]), clock)
            except store.VersionConflict:
                continue  # another replica moved it: the next pass reads it again
        return moved

    async def _escalate(self, doc: dict[str, Any], case: dict[str, Any] | None, clock: Clock) -> int:
        now = clock.now()
        rule = self.policy.rule(doc["tier"])
        if resolved(case) or rule.next is None:
            await store.save_aggregate(self.col, doc, {"tier_due_ts": None, "open": not resolved(case)})
            return 0
        target = await self.directory.serving(Tier(rule.next), doc["area"])
        if target is None:  # nobody serves the area at the next tier: it stays, and is looked at later
            await store.save_aggregate(self.col, doc, {"tier_due_ts": self._due(doc["tier"], now)})
            return 0
        data = {
            "case_id": doc["_id"],
            "case_no": doc["case_no"],
            "from_agent": doc["agent_id"],
            "to_agent": target["_id"],
            "to_agent_name": target["name"],
            "agents": [*doc["agents"], target["_id"]],
            "from_tier": doc["tier"],
            "to_tier": target["tier"],
            "hours": rule.hours,
            "at": now,
        }
        event: Envelope = make_event(
            type=subjects.CASE_AGENT_ESCALATED, source=SOURCE, subject=doc["_id"], data=data, clock=clock
        )
        changes = {
            "agent_id": target["_id"],
            "tier": target["tier"],
            "area": target["area"],
            "agents": [*doc["agents"], target["_id"]],
            "tier_since": now,
            "tier_due_ts": self._due(target["tier"], now),
            "escalations": doc.get("escalations", 0) + 1,
        }
        await store.save_aggregate(self.col, doc, changes, [event])
        await self._step(doc["_id"], doc.get("escalations", 0) + 2, "escalated", doc["agent_id"], target, now)
        return 1

    async def _step(
        self,
        case_id: str,
        n: int,
        kind: str,
        from_agent: str | None,
        agent: dict[str, Any],
        at: datetime,
        **more: Any,
    ) -> None:
        step = {
            "_id": f"{case_id}|{n}",
            "case_id": case_id,
            "n": n,
            "kind": kind,
            "from_agent": from_agent,
            "agent_id": agent["_id"],
            "tier": agent["tier"],
            "at": at,
            "at_ts": to_ms(at),
        }
        await store.insert_new(self.steps, [step | more])

    async def history(self, case_id: str) -> list[dict[str, Any]]:
        """A represented case's steps in order."""
        found = self.steps.find({"case_id": case_id}, {"_id": 0, "at_ts": 0}).sort("n", 1)
        return await found.to_list(None)


def _datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
