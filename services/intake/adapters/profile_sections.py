"""The records of the profile's sections in `profile_outcomes`, and the sections read from them.

Supervision's events keep the agents and the ledger entries of cases as one record per event, keyed by
the event's id (a redelivery is stored once), next to the other later facts of cases:

- `dispatch.case.represented` and `.agent_escalated`: `{case_id, kind, at, agent_id, agent_name,
  tier, how}`, found by `case_id` as every later fact is;
- `dispatch.ledger.opened`, `.updated`, `.closed`: `{entry_id, kind, at, status, ...}`, and for each
  case the event links (the opening's `case_ids`, a `link_case` step's `case_id`) a link record
  `{_id: <event id>|<case id>, case_id, kind: ledger_link, entry_id, at}`: a case's entries are then
  among the records a profile reads by `case_id` anyway, and an entry's records are read by the
  `entry_id` index. Scalar equalities only: a query on an array field is a scan on the embedded
  server. The opening also carries the parties' keyed hashes sealed (`party_keys`, decision 0046):
  each becomes a record `{_id: <event id>|party<n>, kind: ledger_party, party_key, entry_id, at}`,
  found by the `party_key` index from the petitioner's own keys. No other party data arrives.
"""

import asyncio
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import subjects
from dispatch_common.crypto import PiiKeys
from dispatch_common.identity_keys import ledger_keys_aad, open_keys
from services.intake.domain.profile_sections import (
    AGENT_KINDS,
    LINK,
    PARTY,
    ShownCases,
    agent_lines,
    entry_line,
)

LEDGER_EVENTS = {
    subjects.LEDGER_OPENED: "ledger_opened",
    subjects.LEDGER_UPDATED: "ledger_updated",
    subjects.LEDGER_CLOSED: "ledger_closed",
}


def _at(data: dict[str, Any], name: str, published: datetime) -> datetime:
    """When the event says the thing happened (its data's time), else when it was published."""
    value = data.get(name)
    return datetime.fromisoformat(value) if isinstance(value, str) else published


def agent_record(event_id: str, event_type: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The record of an agent taking a case up (represented) or over one tier up (agent_escalated)."""
    base = {
        "_id": event_id,
        "case_id": data["case_id"],
        "case_no": data["case_no"],
        "at": _at(data, "at", at),
    }
    if event_type == subjects.CASE_REPRESENTED:
        return base | {
            "kind": "represented",
            "agent_id": data["agent_id"],
            "agent_name": data["agent_name"],
            "tier": data["tier"],
            "how": data["how"],
        }
    return base | {
        "kind": "agent_escalated",
        "agent_id": data["to_agent"],
        "agent_name": data["to_agent_name"],
        "tier": data["to_tier"],
        "how": "escalation",
        "from_agent": data["from_agent"],
    }


def ledger_records(
    event_id: str, event_type: str, data: dict[str, Any], at: datetime, keys: PiiKeys
) -> list[dict[str, Any]]:
    """The records of a ledger event: the entry's, then one link per case it names and one per key of
    its parties (a sealed value that does not open raises UndecryptableError: a dead letter)."""
    parties: list[str] = []
    record: dict[str, Any] = {
        "_id": event_id,
        "entry_id": data["entry_id"],
        "kind": LEDGER_EVENTS[event_type],
        "at": _at(data, "at", at),
        "status": data["status"],
    }
    linked = [data["case_id"]] if data.get("case_id") else []
    if event_type == subjects.LEDGER_OPENED:
        owner = data["owner_unit"]
        record |= {
            "at": _at(data, "opened_at", at),
            "entry_no": data["entry_no"],
            "risk_kind": data["kind"],
            "risk_level": data["risk_level"],
            "town": (data.get("place") or {}).get("town"),
            "owner_unit": {"code": owner["code"], "name": owner["name"]},
        }
        linked = list(data.get("case_ids") or [])
        parties = open_keys(keys, data.get("party_keys"), aad=ledger_keys_aad(data["entry_id"]))
    if event_type == subjects.LEDGER_CLOSED:
        record["closed_on_time"] = data["closed_on_time"]
    links = [
        {
            "_id": f"{event_id}|{c}",
            "case_id": c,
            "kind": LINK,
            "entry_id": data["entry_id"],
            "at": record["at"],
        }
        for c in dict.fromkeys(linked)
    ]
    party = [
        {
            "_id": f"{event_id}|party{n}",
            "kind": PARTY,
            "party_key": key,
            "entry_id": data["entry_id"],
            "at": record["at"],
        }
        for n, key in enumerate(dict.fromkeys(parties))
    ]
    return [record, *links, *party]


class ProfileSections:
    """The `agents` and `risk_entries` sections, from the petitioner's cases (those the caller sees)."""

    def __init__(self, outcomes: AsyncCollection) -> None:
        self.outcomes = outcomes

    async def ensure_indexes(self) -> None:
        """An entry's records; the entries naming a key among their parties."""
        await self.outcomes.create_index("entry_id")
        await self.outcomes.create_index("party_key")

    async def agents(self, keys: tuple[str, ...], shown: ShownCases) -> list[dict[str, Any]]:
        """Who carries or carried each case, newest first: from the case's records, already read."""
        records = [r for _, later in shown for r in later if r["kind"] in AGENT_KINDS]
        return agent_lines(records, {case["_id"]: case["case_no"] for case, _ in shown})

    async def risk_entries(self, keys: tuple[str, ...], shown: ShownCases) -> list[dict[str, Any]]:
        """The ledger entries linked to any of the cases or naming the petitioner (any of their keys)
        among their parties, newest opening first."""
        by_case = dict.fromkeys(r["entry_id"] for _, later in shown for r in later if r["kind"] == LINK)
        named = await asyncio.gather(
            *(self.outcomes.find({"party_key": k}, {"entry_id": 1}).to_list() for k in dict.fromkeys(keys))
        )
        by_party = {r["entry_id"] for batch in named for r in batch}
        entry_ids = [*by_case, *(e for e in by_party if e not in by_case)]
        records = await asyncio.gather(*(self.outcomes.find({"entry_id": e}).to_list() for e in entry_ids))
        wanted = {case["_id"] for case, _ in shown}
        lines = [
            line
            for entry_id, batch in zip(entry_ids, records, strict=True)
            if (line := entry_line(batch, wanted, by_party=entry_id in by_party)) is not None
        ]
        return sorted(lines, key=lambda line: line["opened_at"], reverse=True)
