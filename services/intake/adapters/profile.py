"""What the profile reads: a petitioner's cases, and `profile_outcomes`, the later facts of every case.

`profile_outcomes` holds one small document per event of another service that a profile shows (the
event's id is its `_id`, so a redelivered event is stored once): `{_id, case_id, kind, at, ...}`,
append-only, found by `case_id`. The petitioner's cases are found through `case_history`'s index on
the petitioner hash, one equality per key, and read by id one by one (an `$in` is a scan on the
embedded server, docs/decisions/0006): a petitioner's cases are few, so the cost stays with them,
whatever the number of cases stored.
"""

import asyncio
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from dispatch_common import store, subjects
from dispatch_common.crypto import PiiKeys
from services.intake.adapters.history import CaseHistory
from services.intake.adapters.profile_sections import LEDGER_EVENTS, agent_record, ledger_records

COLLECTION = "profile_outcomes"
CASE_FIELDS = {
    "case_no": 1,
    "channel": 1,
    "received_at": 1,
    "status": 1,
    "screening.outcome": 1,
    "people_count": 1,
    "links": 1,
    "assignment": 1,
    "confidential": 1,
}
MAX_CASES = 500  # the newest a profile lists; a petitioner beyond it is counted, not listed


def _name(part: dict[str, Any] | None) -> dict[str, str] | None:
    return {"code": part["code"], "name": part["name"]} if part else None


def records_of(
    event_id: str, event_type: str, data: dict[str, Any], at: datetime, *, keys: PiiKeys
) -> list[dict[str, Any]]:
    """The profile's records of one event: a ledger event's links and parties' keys besides its own
    (none for an event the profile does not show)."""
    if event_type in LEDGER_EVENTS:
        return ledger_records(event_id, event_type, data, at, keys)
    record = outcome_of(event_id, event_type, data, at)
    return [] if record is None else [record]


def outcome_of(event_id: str, event_type: str, data: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    """The profile's record of one event about a case (None for an event it does not show)."""
    if event_type in (subjects.CASE_REPRESENTED, subjects.CASE_AGENT_ESCALATED):
        return agent_record(event_id, event_type, data, at)
    base = {"_id": event_id, "case_id": data["case_id"], "at": at}
    if event_type == subjects.CASE_ROUTED:
        category = data.get("category") or {}
        town = (data.get("jurisdiction") or {}).get("town")
        return base | {
            "kind": "routed",
            "category": category.get("subcode") or category.get("code"),
            "town": town,
        }
    if event_type == subjects.CASE_REPLIED:
        return base | {"kind": "replied", "result": data["result"]}
    if event_type == subjects.CASE_FOLLOWED_UP:
        return base | {"kind": "rated", "rating": data["rating"]}
    if event_type == subjects.CASE_REOPENED:
        return base | {"kind": "reopened", "rating": data.get("rating")}
    if event_type == subjects.CASE_CLOSED:
        return base | {"kind": "closed"}
    if event_type in (subjects.MEDIATION_OPENED, subjects.MEDIATION_CONCLUDED):
        kind = "mediation_opened" if event_type == subjects.MEDIATION_OPENED else "mediation_concluded"
        return base | {
            "kind": kind,
            "mediation_id": data["mediation_id"],
            "organization": _name(data.get("organization")),
            "result": data.get("result"),
        }
    if event_type == subjects.REFERRAL_MADE:
        return base | {
            "kind": "referred",
            "referral_kind": data["kind"],
            "unit": _name(data.get("receiving_unit")),
        }
    return None


class ProfileReader:
    """The later facts of cases, and a petitioner's cases."""

    def __init__(self, db: AsyncDatabase, history: CaseHistory) -> None:
        self.outcomes = db[COLLECTION]
        self.cases = db["cases"]
        self.history = history

    async def ensure_indexes(self) -> None:
        """Later facts by case."""
        await self.outcomes.create_index("case_id")

    async def keep(self, records: list[dict[str, Any]]) -> None:
        """Store records of events; one stored before (a redelivery) stays as it is."""
        await store.insert_new(self.outcomes, records)

    async def case_ids(self, keys: tuple[str, ...]) -> list[str]:
        """The ids of the cases recorded under any of the keys, newest first, at most MAX_CASES."""
        found = await asyncio.gather(
            *(
                self.history.col.find({"petitioner_hash": key}, {"received_ts": 1}).to_list()
                for key in dict.fromkeys(keys)
            )
        )
        docs = {d["_id"]: d["received_ts"] for batch in found for d in batch}
        return sorted(docs, key=lambda c: docs[c], reverse=True)[:MAX_CASES]

    async def cases_with_outcomes(
        self, case_ids: list[str]
    ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Each case (its profile fields) with its later facts."""

        async def one(case_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            case, later = await asyncio.gather(
                self.cases.find_one({"_id": case_id}, CASE_FIELDS),
                self.outcomes.find({"case_id": case_id}).to_list(),
            )
            return case, later

        pairs = await asyncio.gather(*(one(c) for c in case_ids))
        return [(case, later) for case, later in pairs if case is not None]
