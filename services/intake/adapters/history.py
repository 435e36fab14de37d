"""Case history for duplicates and repeats: one small document per registered case, found by index.

Collection `case_history`, one document per case, written along with the case in one bulkWrite
(`entry`, `store.insert_aggregate(along=...)`):
`{_id: case_id, case_no, received_at, received_ts, petitioner_hash, place_cell, place_block_00,
place_block_02, place_block_20, place_block_22, address_key, text, tokens, incident_id, incident_rep,
repeat_of, is_repeat, outcome, outcome_ts}`. `text` is normalized and `tokens` are its jieba content
tokens, so comparing a candidate never segments again.

Every lookup is an equality on an indexed key (petitioner hash, a block of cells, address key) with a
range on `received_ts`, sorted by `received_ts` and limited, so its cost depends on the candidates,
never on the size of the history. Measured on the embedded server (nx-27017 0.8.1, 50,000
documents), which shaped the queries; they are equally right on MongoDB:

- a range on a *datetime* field is evaluated outside SQL (a scan: ~50 ms at 50k documents even
  behind an indexed equality), so ranges use `received_ts`, integer milliseconds since the epoch;
  `received_at` is kept for people;
- `$in` on an indexed field and `$or` are scans (40 ms and 1.3 s at 50k), so a place's 9 cells are
  found by one equality on the block that holds them (`neighbourhood_block`), and the address by
  another; `$in` as a further condition on the block's rows runs in SQL, so the block's cells beyond
  the neighbourhood never leave the server (at 50k, 56 documents of a block's 100 in 1.77 ms of the
  server's CPU instead of all 100 in 2.23 ms, 2026-11-23);
- an equality is translated as "equal, or an array containing it", which only a single-field index
  of that field serves, so both are created (the compound ones for the order and for MongoDB, the
  single-field ones for the embedded server; docs/decisions/0006);
- `$set` of a datetime at a top-level or dotted path stores a naive *string* ('2026-03-01
  12:00:05.123000'; a datetime inside a $set sub-document survives), so the outcome time is
  `outcome_ts`, integer milliseconds, like `received_ts`;
- the place lookups also ask for `incident_rep` not false (an incident's representatives, and documents
  written before the field existed). The server applies that in SQL to the rows of the indexed key, so
  a place's hundreds of reports of one incident cost no more than its few representatives: about
  0.03 ms of the embedded server's CPU per document returned, 5.6 ms for 200 (2026-11);
- `count_documents` and the `count` command scan (1 s and 40 ms at 50k), so a petitioner's figures
  come from a projected find on the hash index, counted here (one petitioner's cases are few).
"""

import asyncio
from datetime import UTC, datetime
from typing import Any, TypedDict

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common.similarity import Fingerprint
from services.intake.domain.duplicates import (
    CaseSnapshot,
    DuplicatePolicy,
    Links,
    decide_links,
    neighbour_cells,
    neighbourhood_block,
    place_blocks,
)

COLLECTION = "case_history"
PLACE_BLOCK_FIELDS = tuple(place_blocks("1:0:0"))
CANDIDATE_FIELDS = {
    "case_no": 1,
    "received_ts": 1,
    "petitioner_hash": 1,
    "place_cell": 1,
    "address_key": 1,
    "text": 1,
    "tokens": 1,
    "bigrams": 1,
    "incident_id": 1,
}


class PetitionerHistory(TypedDict):
    """A petitioner's figures for authorized roles (no plain identity: the hash is the key)."""

    cases: int
    repeats: int
    last_case_no: str | None
    last_outcome: str | None
    first_at: datetime | None
    last_at: datetime | None


def to_ts(moment: datetime) -> int:
    """Integer milliseconds since the epoch, the queried form of a time."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return round(moment.timestamp() * 1000)


def _from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts / 1000, tz=UTC)


def snapshot_of(doc: dict[str, Any]) -> CaseSnapshot:
    """A stored history document as a candidate, its fingerprint rebuilt from the stored tokens."""
    text = doc.get("text") or ""
    return CaseSnapshot(
        case_id=doc["_id"],
        case_no=doc["case_no"],
        received_at=_from_ts(doc["received_ts"]),
        text=text,
        petitioner_hash=doc.get("petitioner_hash"),
        place_cell=doc.get("place_cell"),
        address_key=doc.get("address_key"),
        incident_id=doc.get("incident_id"),
        fingerprint=Fingerprint.from_tokens(text, doc.get("tokens") or [], doc.get("bigrams")),
    )


class CaseHistory:
    """The `case_history` collection: record cases, find candidates, petitioner figures, outcomes."""

    def __init__(self, db: AsyncDatabase, collection: str = COLLECTION) -> None:
        self.col = db[collection]

    async def ensure_indexes(self) -> None:
        """Compound (key, received_ts) indexes for MongoDB, single-key ones for the embedded server."""
        for key in ("petitioner_hash", *PLACE_BLOCK_FIELDS, "address_key"):
            await self.col.create_index([(key, ASCENDING), ("received_ts", DESCENDING)])
            await self.col.create_index(key)

    @staticmethod
    def document(snapshot: CaseSnapshot, links: Links, outcome: str | None = None) -> dict[str, Any]:
        """The stored form of a case and its links."""
        fp = snapshot.fingerprint
        cell = snapshot.place_cell
        blocks = place_blocks(cell) if cell else dict.fromkeys(PLACE_BLOCK_FIELDS)
        return {
            "_id": snapshot.case_id,
            "case_no": snapshot.case_no,
            "received_at": snapshot.received_at.astimezone(UTC),
            "received_ts": to_ts(snapshot.received_at),
            "petitioner_hash": snapshot.petitioner_hash,
            "place_cell": snapshot.place_cell,
            **blocks,
            "address_key": snapshot.address_key,
            "text": fp.text,
            "tokens": list(fp.tokens),
            "bigrams": sorted(fp.bigrams),  # a lookup rebuilds the set from numbers, not from the tokens
            "incident_id": links.incident_of.incident_id if links.incident_of else snapshot.case_id,
            "incident_rep": links.represents_incident,
            "repeat_of": links.repeat_of.case_id if links.repeat_of else None,
            "is_repeat": links.repeat_of is not None,
            "outcome": outcome,
            "outcome_ts": None,
        }

    def entry(
        self, snapshot: CaseSnapshot, links: Links, outcome: str | None = None
    ) -> tuple[AsyncCollection, dict[str, Any]]:
        """A case's history document and where it goes, to be written along with the case."""
        return self.col, self.document(snapshot, links, outcome)

    async def record(self, snapshot: CaseSnapshot, links: Links, outcome: str | None = None) -> bool:
        """Store a registered case with its links; False when it was recorded already (a retry)."""
        try:
            await self.col.insert_one(self.document(snapshot, links, outcome))
        except DuplicateKeyError:
            return False
        return True

    async def _find(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        cursor = self.col.find(query, CANDIDATE_FIELDS).sort("received_ts", DESCENDING).limit(limit)
        return await cursor.to_list()  # one batch: cheaper than async for

    @staticmethod
    def _window(since: datetime, until: datetime | None) -> dict[str, int]:
        window = {"$gte": to_ts(since)}
        if until is not None:
            window["$lte"] = to_ts(until)
        return window

    async def repeat_candidates(
        self, keys: tuple[str, ...], since: datetime, limit: int, until: datetime | None = None
    ) -> list[CaseSnapshot]:
        """The petitioner's cases (recorded under any of `keys`) received in [since, until], most
        recent first, at most `limit`."""
        return [snapshot_of(d) for d in await self._repeat_docs(keys, since, limit, until)]

    async def _repeat_docs(
        self, keys: tuple[str, ...], since: datetime, limit: int, until: datetime | None
    ) -> list[dict[str, Any]]:
        window = self._window(since, until)
        # one equality per key, concurrently (an `$in` is a scan on the embedded server)
        found = await asyncio.gather(
            *(
                self._find({"petitioner_hash": key, "received_ts": window}, limit)
                for key in dict.fromkeys(keys)
            )
        )
        return _newest({doc["_id"]: doc for docs in found for doc in docs}.values(), limit)

    async def incident_candidates(
        self,
        cell: str | None,
        address_key: str | None,
        since: datetime,
        limit: int,
        until: datetime | None = None,
    ) -> list[CaseSnapshot]:
        """Incident representatives in `cell` or its 8 neighbours or at `address_key`, received in
        [since, until], newest first.

        One equality query on the block that holds the neighbourhood and one on the address,
        concurrently: the embedded server scans for `$in`/`$or`, and MongoDB answers each from the
        compound index just as well.
        """
        return [snapshot_of(d) for d in await self._incident_docs(cell, address_key, since, limit, until)]

    async def _incident_docs(
        self, cell: str | None, address_key: str | None, since: datetime, limit: int, until: datetime | None
    ) -> list[dict[str, Any]]:
        window = self._window(since, until)
        queries = []
        representative = {"$ne": False}  # documents from before `incident_rep` existed count too
        if cell:
            field, block = neighbourhood_block(cell)
            # the block selects by index; `$in` then keeps its rows in the 9 cells, in SQL on the
            # embedded server too, so the 7 cells of the block beyond the neighbourhood stay there
            cells = {"$in": neighbour_cells(cell)}
            queries.append(
                {field: block, "place_cell": cells, "incident_rep": representative, "received_ts": window}
            )
        if address_key:
            queries.append(
                {"address_key": address_key, "incident_rep": representative, "received_ts": window}
            )
        if not queries:
            return []
        results = await asyncio.gather(*(self._find(q, limit) for q in queries))
        merged: dict[str, dict[str, Any]] = {}
        for found in results:
            for doc in found:  # a case found by both queries counts once
                merged.setdefault(doc["_id"], doc)
        return _newest(merged.values(), limit)

    async def petitioner_history(self, keys: tuple[str, ...]) -> PetitionerHistory:
        """How many cases and repeats, the last case number and outcome, the first and last times,
        of the cases recorded under any of the petitioner's keys."""
        fields = {"is_repeat": 1, "received_ts": 1, "case_no": 1, "outcome": 1}
        found = await asyncio.gather(
            *(self.col.find({"petitioner_hash": key}, fields).to_list() for key in dict.fromkeys(keys))
        )
        docs = list({doc["_id"]: doc for batch in found for doc in batch}.values())
        if not docs:
            return PetitionerHistory(
                cases=0, repeats=0, last_case_no=None, last_outcome=None, first_at=None, last_at=None
            )
        first = min(docs, key=lambda d: d["received_ts"])
        last = max(docs, key=lambda d: (d["received_ts"], d["case_no"]))
        return PetitionerHistory(
            cases=len(docs),
            repeats=sum(1 for d in docs if d.get("is_repeat")),
            last_case_no=last["case_no"],
            last_outcome=last.get("outcome"),
            first_at=_from_ts(first["received_ts"]),
            last_at=_from_ts(last["received_ts"]),
        )

    async def set_outcome(self, case_id: str, outcome: str, at: datetime | None = None) -> bool:
        """Record a case's screening outcome; False when the case is not in the history."""
        moment = to_ts(at or datetime.now(UTC))
        result = await self.col.update_one(
            {"_id": case_id}, {"$set": {"outcome": outcome, "outcome_ts": moment}}
        )
        return result.matched_count == 1


def _newest(docs: Any, limit: int) -> list[dict[str, Any]]:
    """Documents newest first, at most `limit`."""
    return sorted(docs, key=lambda d: d["received_ts"], reverse=True)[:limit]


async def find_links(history: CaseHistory, snapshot: CaseSnapshot, policy: DuplicatePolicy) -> Links:
    """Query the bounded candidate lists for a new case and decide its links (call before storing it).

    Rebuilding the candidates' fingerprints and comparing the texts cost CPU in proportion to them:
    that part runs in a thread, off the event loop."""
    limit = policy.max_candidates
    repeat_query = (
        history._repeat_docs(
            snapshot.petitioner_keys, snapshot.received_at - policy.repeat_window, limit, snapshot.received_at
        )
        if snapshot.petitioner_keys
        else None
    )
    incident_query = (
        history._incident_docs(
            snapshot.place_cell,
            snapshot.address_key,
            snapshot.received_at - policy.incident_window,
            limit,
            snapshot.received_at + policy.incident_window,
        )
        if snapshot.place_cell or snapshot.address_key
        else None
    )
    repeats, incidents = await asyncio.gather(_or_empty(repeat_query), _or_empty(incident_query))
    return await asyncio.to_thread(links_from_documents, snapshot, repeats, incidents, policy)


def links_from_documents(
    snapshot: CaseSnapshot,
    repeats: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    policy: DuplicatePolicy,
) -> Links:
    """The links of a new case, given the stored documents the two lookups found."""
    built: dict[str, CaseSnapshot] = {}  # a case found by both lookups is rebuilt once

    def candidates(docs: list[dict[str, Any]]) -> list[CaseSnapshot]:
        out = []
        for doc in docs:
            if doc["_id"] not in built:
                built[doc["_id"]] = snapshot_of(doc)
            out.append(built[doc["_id"]])
        return out

    return decide_links(snapshot, candidates(repeats), candidates(incidents), policy)


async def _or_empty(query: Any) -> list[dict[str, Any]]:
    return await query if query is not None else []
