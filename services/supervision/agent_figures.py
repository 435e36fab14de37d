"""Figures per proxy agent and per tier (代办数, 化解数, 在办, 平均用时, 满意率).

Counted over the representations taken up in a period, each read with its case file:
- taken: every agent that carried the case counts it (the one who took it up, and each one it was
  escalated to), and so does each tier it was carried at;
- resolved (化解), average time and the rating: to the agent carrying it when it was rated, and its
  tier;
- pending: to the agent carrying it now, while it is neither resolved nor closed.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from services.supervision.adapters.repository import CaseFiles
from services.supervision.domain.agents import Tier
from services.supervision.representation import RESOLVED_RATINGS, Representations, resolved, still_open

PAGE = 500


class _Tally:
    def __init__(self) -> None:
        self.taken = self.resolved = self.pending = self.rated = self.satisfied = 0
        self.hours: list[float] = []

    def figures(self) -> dict[str, Any]:
        return {
            "taken": self.taken,
            "resolved": self.resolved,
            "pending": self.pending,
            "average_hours": round(sum(self.hours) / len(self.hours), 2) if self.hours else None,
            "rated": self.rated,
            "satisfied": self.satisfied,
            "satisfaction": round(self.satisfied / self.rated, 4) if self.rated else None,
        }


Tallies = dict[str, _Tally]


def _count(
    rep: dict[str, Any],
    case: dict[str, Any] | None,
    tiers: dict[str, str],
    by_agent: Tallies,
    by_tier: Tallies,
) -> None:
    carried_tiers = {tiers.get(a) for a in rep["agents"]}
    for agent in rep["agents"]:
        by_agent[agent].taken += 1
    for tier in carried_tiers - {None}:
        by_tier[tier].taken += 1
    now_agent, now_tier = by_agent[rep["agent_id"]], by_tier[rep["tier"]]
    rating = (case or {}).get("rating") or {}
    if rating.get("rating"):
        for tally in (now_agent, now_tier):
            tally.rated += 1
            tally.satisfied += rating["rating"] in RESOLVED_RATINGS
    if resolved(case):
        hours = (rating["at"] - rep["taken_at"]).total_seconds() / 3600
        for tally in (now_agent, now_tier):
            tally.resolved += 1
            tally.hours.append(hours)
    elif still_open(case):
        now_agent.pending += 1
        now_tier.pending += 1


async def agent_report(
    representations: Representations,
    files: CaseFiles,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    area: str | None = None,
) -> dict[str, Any]:
    """The figures of every agent (of the area, when given) and of each tier."""
    taken: dict[str, Any] = {"$gte": int(since.timestamp() * 1000) if since else 0}
    if until:
        taken["$lt"] = int(until.timestamp() * 1000)
    agents = {d["_id"]: d async for d in representations.directory.agents.find({})}
    tiers = {a: d["tier"] for a, d in agents.items()}
    by_agent: Tallies = defaultdict(_Tally)
    by_tier: Tallies = defaultdict(_Tally)
    found = representations.col.find({"taken_ts": taken}).sort("taken_ts", 1)
    batch: list[dict[str, Any]] = []
    async for rep in found:
        batch.append(rep)
        if len(batch) == PAGE:
            await _tally(batch, files, tiers, by_agent, by_tier)
            batch = []
    await _tally(batch, files, tiers, by_agent, by_tier)
    rows = [
        {"agent_id": a, "name": d["name"], "tier": d["tier"], "area": d["area"], **by_agent[a].figures()}
        for a, d in sorted(agents.items())
        if area is None or d["area"].startswith(area)
    ]
    return {"agents": rows, "tiers": [{"tier": t.value, **by_tier[t.value].figures()} for t in Tier]}


async def _tally(
    batch: list[dict[str, Any]], files: CaseFiles, tiers: dict[str, str], by_agent: Tallies, by_tier: Tallies
) -> None:
    if not batch:
        return
    cases = await files.get_many([r["_id"] for r in batch])
    for rep in batch:
        _count(rep, cases.get(rep["_id"]), tiers, by_agent, by_tier)
