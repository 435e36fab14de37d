"""Mediation's collections: mediations and referrals (aggregates with outbox), the mediators, the
organizations' edits made over the API, the cases routing announced (a small projection, so a
unit's request can be checked and placed), and the audit of clear reads of personal data.

Every query is an equality on one indexed field or a range on an integer-millisecond field, and
projections name whole top-level fields (docs/decisions/0006).
"""

import contextlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from dispatch_common import paging, store
from dispatch_common.envelope import Envelope
from services.mediation.domain.rules import to_ms


class MediationStore:
    """The mediation service's database."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.mediations = db["mediations"]
        self.referrals = db["referrals"]
        self.mediators = db["mediators"]
        self.organizations = db["organization_overrides"]
        self.cases = db["routed_cases"]
        self.audit = db["pii_audit"]

    async def ensure_indexes(self) -> None:
        """Mediations by case, open organization, next alarm, conclusion and organization; referrals by
        case and by receiving center; each list's sort key after its equality; the audit by mediation."""
        await self.mediations.create_index("case_id")
        await self.mediations.create_index([("case_id", ASCENDING), ("opened_ts", ASCENDING)])
        await self.referrals.create_index([("case_id", ASCENDING), ("made_ts", ASCENDING)])
        await self.audit.create_index([("mediation_id", ASCENDING), ("at_ts", ASCENDING)])
        await self.mediations.create_index("open_org")
        await self.mediations.create_index("next_alarm_ts")
        await self.mediations.create_index("concluded_ts")
        await self.referrals.create_index("case_id")
        await self.referrals.create_index("receiving_code")
        await self.mediations.create_index([("organization.code", ASCENDING), ("opened_ts", ASCENDING)])
        await self.referrals.create_index([("receiving_code", ASCENDING), ("made_ts", ASCENDING)])
        await self.mediators.create_index("organization")
        await self.mediators.create_index("id")
        await self.mediators.create_index([("organization", ASCENDING), ("id", ASCENDING)])
        await self.audit.create_index("mediation_id")

    async def backfill_list_keys(self) -> int:
        """Give mediations, referrals and audit entries recorded before their lists paged by cursor
        their sort keys (`opened_ts`, `made_ts`, `at_ts`: integer ms of `opened_at`, `made_at`, `at`);
        how many were given one."""
        given = 0
        for col, key, moment in (
            (self.mediations, "opened_ts", "opened_at"),
            (self.referrals, "made_ts", "made_at"),
        ):
            async for doc in col.find({key: None}, {moment: 1}):
                if doc.get(moment) is not None:
                    await col.update_one({"_id": doc["_id"]}, {"$set": {key: to_ms(doc[moment])}})
                    given += 1
        # an audit entry's id becomes a string, as the list's cursor names it (JSON, no ObjectId)
        async for doc in self.audit.find({"at_ts": None}):
            given += 1
            at_ts = to_ms(doc["at"])
            if isinstance(doc["_id"], str):
                await self.audit.update_one({"_id": doc["_id"]}, {"$set": {"at_ts": at_ts}})
                continue
            # not the id's plain hex: the embedded server takes an ObjectId and its hex for one id
            with contextlib.suppress(DuplicateKeyError):  # copied before a crash: remove the old one now
                await self.audit.insert_one(doc | {"_id": f"before-cursor-{doc['_id']}", "at_ts": at_ts})
            await self.audit.delete_one({"_id": doc["_id"], "at_ts": None})
        return given

    # -- mediations ---------------------------------------------------------------------------

    async def get(self, mediation_id: str) -> dict[str, Any] | None:
        """A mediation, whole (it is saved whole under its version)."""
        return await self.mediations.find_one({"_id": mediation_id})

    async def of_case(self, case_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The mediations of a case, oldest first."""
        cursor = self.mediations.find({"case_id": case_id}, {"outbox": 0}).sort("opened_at", ASCENDING)
        return [doc async for doc in cursor.limit(limit)]

    async def page_of_case(self, case_id: str, limit: int, cursor: str | None) -> paging.Page:
        """The mediations of a case, oldest first, a page after `cursor`."""
        query = {"case_id": case_id, "opened_ts": {"$gte": 0}}
        return await paging.page(
            self.mediations, query, sort="opened_ts", limit=limit, cursor=cursor, projection={"outbox": 0}
        )

    async def of_organization(
        self, code: str, statuses: list[str], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """An organization's mediations (in some states), oldest opened first, a page after `cursor`."""
        query: dict[str, Any] = {"organization.code": code} | _any_of("status", statuses)
        found = await paging.page(
            self.mediations, query, sort="opened_ts", limit=limit, cursor=cursor, projection={"outbox": 0}
        )
        return found.items, found.next_cursor

    async def insert(self, doc: dict[str, Any], events: Iterable[Envelope]) -> bool:
        """A new mediation with its events; False if one with that id exists."""
        return await store.insert_aggregate(self.mediations, doc, events)

    async def save(
        self, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Envelope]
    ) -> dict[str, Any]:
        """A version-guarded change with its events; the new state."""
        return await store.save_aggregate(self.mediations, current, changes, events)

    async def open_count(self, organization: str) -> int:
        """How many mediations an organization has open (counted here: the embedded server's count scans)."""
        return len([doc async for doc in self.mediations.find({"open_org": organization}, {"_id": 1})])

    async def loads(self, organization: str) -> dict[str, int]:
        """Open mediations per mediator of an organization: their current load."""
        cursor = self.mediations.find({"open_org": organization}, {"mediator": 1})
        counts: Counter[str] = Counter()
        async for doc in cursor:
            if doc.get("mediator"):
                counts[doc["mediator"]["id"]] += 1
        return dict(counts)

    async def due_for_alarms(self, now_ms: int, limit: int) -> list[dict[str, Any]]:
        """Mediations whose next alarm is due, earliest first."""
        cursor = self.mediations.find({"next_alarm_ts": {"$lte": now_ms}}).sort("next_alarm_ts", ASCENDING)
        return [doc async for doc in cursor.limit(limit)]

    async def concluded_between(self, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """What the figures need of the mediations concluded in a period."""
        fields = {f: 1 for f in ("organization", "type", "status", "outcome", "opened_at", "concluded_at")}
        cursor = self.mediations.find({"concluded_ts": {"$gte": start_ms, "$lt": end_ms}}, fields)
        return [doc async for doc in cursor]

    # -- referrals ----------------------------------------------------------------------------

    async def referral(self, referral_id: str) -> dict[str, Any] | None:
        """A referral, whole."""
        return await self.referrals.find_one({"_id": referral_id})

    async def referrals_of_case(self, case_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The referrals of a case, oldest first."""
        cursor = self.referrals.find({"case_id": case_id}, {"outbox": 0}).sort("made_at", ASCENDING)
        return [doc async for doc in cursor.limit(limit)]

    async def referrals_page(self, case_id: str, limit: int, cursor: str | None) -> paging.Page:
        """The referrals of a case, oldest first, a page after `cursor`."""
        query = {"case_id": case_id, "made_ts": {"$gte": 0}}
        return await paging.page(
            self.referrals, query, sort="made_ts", limit=limit, cursor=cursor, projection={"outbox": 0}
        )

    async def referrals_received(
        self, code: str, statuses: list[str], kinds: list[str], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The referrals a center receives (in some states, of some kinds), oldest first, a page."""
        query = {"receiving_code": code} | _any_of("status", statuses) | _any_of("kind", kinds)
        found = await paging.page(
            self.referrals, query, sort="made_ts", limit=limit, cursor=cursor, projection={"outbox": 0}
        )
        return found.items, found.next_cursor

    async def insert_referral(self, doc: dict[str, Any], events: Iterable[Envelope]) -> bool:
        """A new referral with its events; False if one with that id exists."""
        return await store.insert_aggregate(self.referrals, doc, events)

    async def save_referral(
        self, current: dict[str, Any], changes: dict[str, Any], events: Iterable[Envelope]
    ) -> dict[str, Any]:
        """A version-guarded change of a referral with its events."""
        return await store.save_aggregate(self.referrals, current, changes, events)

    # -- the routed cases ---------------------------------------------------------------------

    async def remember_case(self, case: dict[str, Any]) -> None:
        """Keep routing's latest decision on a case (an older revision never replaces a newer one)."""
        doc = {"_id": case["case_id"], **case}
        try:
            await self.cases.insert_one(doc)
        except DuplicateKeyError:
            await self.cases.replace_one({"_id": case["case_id"], "revision": {"$lt": case["revision"]}}, doc)

    async def case(self, case_id: str) -> dict[str, Any] | None:
        """Routing's decision on a case, as mediation last heard it."""
        return await self.cases.find_one({"_id": case_id})

    # -- who read personal data in clear ------------------------------------------------------

    async def audit_clear_read(self, entry: dict[str, Any]) -> None:
        """Append who read which personal data of a mediation in clear, when and through which endpoint."""
        await self.audit.insert_one(dict(entry) | {"_id": str(ObjectId()), "at_ts": to_ms(entry["at"])})

    async def audit_entries(self, mediation_id: str, limit: int, cursor: str | None) -> paging.Page:
        """A mediation's clear reads, oldest first, a page after `cursor`."""
        query = {"mediation_id": mediation_id, "at_ts": {"$gte": 0}}
        return await paging.page(self.audit, query, sort="at_ts", limit=limit, cursor=cursor)

    # -- mediators ----------------------------------------------------------------------------

    async def seed_mediators(self, mediators: Iterable[dict[str, Any]]) -> int:
        """Add the mediators of the seed file that the directory does not have yet."""
        added = 0
        for mediator in mediators:
            try:
                await self.mediators.insert_one({"_id": mediator["id"], **mediator, "version": 1})
                added += 1
            except DuplicateKeyError:
                continue  # edits made over the API win over the file
        return added

    async def mediator(self, mediator_id: str) -> dict[str, Any] | None:
        """One mediator."""
        return await self.mediators.find_one({"_id": mediator_id})

    async def mediators_of(self, organization: str | None) -> list[dict[str, Any]]:
        """The mediators of one organization, or all, by id."""
        query = {"organization": organization} if organization else {}
        return [doc async for doc in self.mediators.find(query).sort("_id", ASCENDING)]

    async def mediators_page(self, organization: str | None, limit: int, cursor: str | None) -> paging.Page:
        """The mediators of one organization, or all, by id, a page after `cursor`."""
        query: dict[str, Any] = {"id": {"$gte": ""}} | (
            {"organization": organization} if organization else {}
        )
        return await paging.page(self.mediators, query, sort="id", limit=limit, cursor=cursor)

    async def add_mediator(self, mediator: dict[str, Any]) -> bool:
        """A new mediator; False if the id is taken."""
        try:
            await self.mediators.insert_one({"_id": mediator["id"], **mediator, "version": 1})
        except DuplicateKeyError:
            return False
        return True

    async def save_mediator(self, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """A version-guarded change of a mediator; raises store.VersionConflict."""
        state = {**current, **changes, "version": current["version"] + 1}
        await _replace_guarded(self.mediators, current, state)
        return state

    # -- organizations edited over the API ----------------------------------------------------

    async def organization_overrides(self) -> list[dict[str, Any]]:
        """Every organization's override, by code (a few dozen small documents)."""
        return [doc async for doc in self.organizations.find({}).sort("_id", ASCENDING)]

    async def organization_override(self, code: str) -> dict[str, Any] | None:
        """One organization's override, whole, or None if it was never edited over the API."""
        return await self.organizations.find_one({"_id": code})

    async def save_organization_override(self, current: dict[str, Any] | None, state: dict[str, Any]) -> None:
        """Write an override: the first (inserted; a taken code is a conflict) or the next version of
        `current` (replaced whole under its version); raises store.VersionConflict."""
        if current is None:
            try:
                await self.organizations.insert_one(state)
            except DuplicateKeyError as exc:
                raise store.VersionConflict(f"organization {state['_id']} was edited meanwhile") from exc
            return
        await _replace_guarded(self.organizations, current, state)


def _any_of(field: str, values: list[str]) -> dict[str, Any]:
    """An equality, or `$in` for several values; nothing for none."""
    if not values:
        return {}
    return {field: values[0]} if len(values) == 1 else {field: {"$in": sorted(set(values))}}


async def _replace_guarded(col: AsyncCollection, current: dict[str, Any], state: dict[str, Any]) -> None:
    """Replace a document whole if it is still at the version read; else store.VersionConflict."""
    result = await col.replace_one({"_id": current["_id"], "version": current["version"]}, state)
    if result.matched_count != 1:
        raise store.VersionConflict(f"{col.name}/{current['_id']} changed meanwhile")
