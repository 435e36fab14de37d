"""What people do to the risk ledger (排查台账): open an entry, work on it, ask to close it with its
evidence, review the closing, link the cases it became.

Every change reads the entry, checks its state and the caller (domain/ledger.py), and replaces it
whole under its version with its record, its event and its recomputed deadline (the scanner's next
look, ledger_scan.py). The entry's version is its ETag (If-Match). Personal data of the parties is
sealed on the way in (domain/ledger_parties.py).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.clock import Clock
from dispatch_common.crypto import PiiKeys
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision.adapters.ledger import LedgerBook
from services.supervision.domain import ledger as rules
from services.supervision.domain.ledger_parties import protected_party, sealed_party_keys
from services.supervision.domain.policy import Timekeeper, to_ms
from services.supervision.ledger_places import Places, Unplaced

SOURCE = "/dispatch/supervision"
NAMESPACE = uuid.UUID("5b0f7e52-3c1d-4a8e-9a57-1f2c5d0e7a18")  # entry ids derived from a warning


class Invalid(ValueError):
    """Bad input the request model cannot see (an unknown unit, a place not in the county): a 422 with
    the field's location."""

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc, self.msg = loc, msg


class EntryNotFound(LookupError):
    """No entry, or not one the caller may see."""


class AlreadyOpened(LookupError):
    """The warning opened an entry already (409, naming it)."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"the warning opened entry {entry_id} already")
        self.entry_id = entry_id


def actor(caller: Principal) -> dict[str, Any]:
    """Who did something, as records keep it."""
    return {"subject": caller.subject, "role": caller.role.value, "unit": caller.unit}


@dataclass
class Ledger:
    """The ledger's collection, tables and collaborators."""

    book: LedgerBook
    policy: rules.LedgerPolicy
    places: Places
    keys: PiiKeys
    keeper: Timekeeper
    clock: Clock
    units: dict[str, dict[str, Any]]
    case_files: AsyncCollection
    warnings: AsyncCollection

    def event(self, doc: dict[str, Any], event_type: str, data: dict[str, Any], cause: str) -> Envelope:
        """An event of an entry (its id derived from the entry and the cause: published once)."""
        owner = (doc.get("owner") or {}).get("unit")
        return make_event(
            type=event_type,
            source=SOURCE,
            subject=None,  # the platform's subject is a case id (supervision's timeline keys on it)
            clock=self.clock,
            event_id=derived_event_id("supervision", "ledger", doc["_id"], cause),
            data={"entry_id": doc["_id"], "entry_no": doc["entry_no"], "owner_unit": owner, **data},
        )

    def with_deadline(self, state: dict[str, Any]) -> dict[str, Any]:
        """The deadline fields of an entry in this state (the scanner's next look, overdue or not)."""
        fields = rules.refresh(state, self.policy, self.keeper)
        fields["overdue_open"] = bool(state.get("overdue")) and state["status"] in rules.OPEN_STATES
        return fields

    async def save(
        self, doc: dict[str, Any], changes: dict[str, Any], events: list[Envelope]
    ) -> dict[str, Any]:
        state = doc | changes
        return await self.book.save(doc, changes | self.with_deadline(state), events)

    # -- opening -------------------------------------------------------------------------------

    async def _source(self, source: dict[str, Any], place: dict[str, Any] | None) -> tuple[str, dict, list]:
        """The entry's id, its place (the source's when none was given) and the cases it starts with."""
        kind, ref = source["kind"], source.get("ref")
        if kind == "warning":
            warning = await self.warnings.find_one({"_id": ref or ""}, {"outbox": 0})
            if warning is None:
                raise Invalid(["body", "source", "ref"], f"no warning {ref}")
            entry_id = str(uuid.uuid5(NAMESPACE, f"warning|{ref}"))
            if place is None and warning.get("area"):
                place = {"area": warning["area"]}
            cases = [warning["case_id"]] if warning.get("case_id") else []
            return entry_id, place or {}, cases
        if kind == "case":
            case = await self.case_files.find_one({"_id": ref or ""}, {"jurisdiction": 1})
            if case is None:
                raise Invalid(["body", "source", "ref"], f"no case {ref}")
            jurisdiction = case.get("jurisdiction") or {}
            area = jurisdiction.get("grid") or jurisdiction.get("village") or jurisdiction.get("town")
            return str(uuid.uuid4()), place or ({"area": area} if area else {}), [case["_id"]]
        return str(uuid.uuid4()), place or {}, []

    def _place(self, given: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.places.resolve(**given) | (
                {"address": given["address"]} if given.get("address") else {}
            )
        except Unplaced as exc:
            raise Invalid(["body", "place"], str(exc)) from None

    async def open(self, body: dict[str, Any], caller: Principal) -> dict[str, Any]:
        """Open an entry (建账): placed, its parties sealed, its owner a unit of the county, its limit
        from its risk level unless one is given; with dispatch.ledger.opened."""
        for field, table in (("kind", self.policy.kinds), ("risk_level", self.policy.levels)):
            if body[field] not in table:
                raise Invalid(["body", field], f"not one of {sorted(table)}")
        if body["source"]["kind"] not in self.policy.sources:
            raise Invalid(["body", "source", "kind"], f"not one of {sorted(self.policy.sources)}")
        unit = self.units.get(body["owner"]["unit"])
        if unit is None:
            raise Invalid(["body", "owner", "unit"], f"no unit {body['owner']['unit']} in the county")
        entry_id, given, cases = await self._source(body["source"], body.get("place"))
        place = self._place(given)
        now = self.clock.now()
        tz = self.keeper.timezone
        due = body.get("due_at") or self.policy.due(body["risk_level"], now, self.keeper.calendar, tz)
        if due <= now:
            raise Invalid(["body", "due_at"], "the limit must lie ahead")
        linked = await self._cases(cases, now, opened_at=now)
        doc: dict[str, Any] = {
            "_id": entry_id,
            "entry_no": f"TZ{now.astimezone(tz):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}",
            "kind": body["kind"],
            "title": body["title"],
            "description": body.get("description") or "",
            "place": place,
            "parties": [protected_party(self.keys, entry_id, p) for p in body.get("parties") or []],
            "source": {"kind": body["source"]["kind"], "ref": body["source"].get("ref")},
            "risk_level": body["risk_level"],
            "owner": {
                "unit": {"code": unit["code"], "name": unit["name"]},
                "person": body["owner"]["person"],
            },
            "measures": list(body.get("measures") or []),
            "status": "opened",
            "opened_at": now,
            "opened_ts": to_ms(now),
            "due_at": due,
            "due_ts": to_ms(due),
            "created_by": actor(caller),
            "case_ids": [c["case_id"] for c in linked],
            "cases": linked,
            "became_case": any(c["after_opening"] for c in linked),
            "history": [{"action": "open", "at": now, "by": actor(caller), "status": "opened", "note": None}],
        }
        doc |= self.with_deadline(doc)
        data = {
            "kind": doc["kind"],
            "risk_level": doc["risk_level"],
            "status": "opened",
            "place": {k: place.get(k) for k in ("town", "village", "grid")},
            "source": doc["source"],
            "due_at": due,
            "opened_at": now,
            "case_ids": doc["case_ids"],
            # the parties' phone and ID hashes, sealed: the profile's join by party (decision 0046)
            "party_keys": sealed_party_keys(self.keys, entry_id, doc["parties"]),
        }
        if not await self.book.insert(doc, [self.event(doc, subjects.LEDGER_OPENED, data, "opened")]):
            raise AlreadyOpened(entry_id)
        return doc | {"version": 1}

    async def _cases(
        self, case_ids: list[str], now: datetime, *, opened_at: datetime
    ) -> list[dict[str, Any]]:
        out = []
        for case_id in case_ids:
            case = await self.case_files.find_one({"_id": case_id}, {"case_no": 1, "received_at": 1})
            if case is None:
                raise Invalid(["body", "case_id"], f"no case {case_id}")
            received = case.get("received_at")
            out.append(
                {
                    "case_id": case_id,
                    "case_no": case.get("case_no"),
                    "received_at": received,
                    "linked_at": now,
                    "after_opening": received is not None and received > opened_at,
                }
            )
        return out

    # -- changes -------------------------------------------------------------------------------

    async def visible(self, entry_id: str, caller: Principal) -> dict[str, Any]:
        """The whole entry, if the caller may see it."""
        doc = await self.book.get(entry_id)
        if doc is None or not rules.may_see(doc, caller):
            raise EntryNotFound(f"no ledger entry {entry_id}")
        return doc

    async def change(
        self,
        entry_id: str,
        caller: Principal,
        make: Callable[[dict[str, Any], datetime], tuple[dict[str, Any], str, dict[str, Any]]],
        precondition: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Read, check (If-Match), change and save an entry, again when another writer won the race.
        `make` gives the changes, the event's type and its data."""

        async def attempt() -> dict[str, Any]:
            doc = await self.visible(entry_id, caller)
            if precondition is not None:
                precondition(doc["version"])
            now = self.clock.now()
            changes, event_type, data = make(doc, now)
            event = self.event(doc, event_type, data, f"{event_type}|{doc['version']}")
            return await self.save(doc, changes, [event])

        return await store.retry_on_conflict(attempt)

    async def act(
        self,
        entry_id: str,
        action: str,
        body: dict[str, Any],
        caller: Principal,
        precondition: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """One step of the entry's course: progress, request_close (with evidence), approve, return."""

        def make(doc: dict[str, Any], now: datetime) -> tuple[dict[str, Any], str, dict[str, Any]]:
            rule = rules.check(action, doc, caller)
            record = {
                "action": action,
                "at": now,
                "by": actor(caller),
                "status": rule.to,
                "note": body.get("note"),
            }
            changes: dict[str, Any] = {"status": rule.to, "history": [*doc["history"], record]}
            if body.get("measures"):
                changes["measures"] = [*doc["measures"], *body["measures"]]
            if action == "request_close":
                changes["close_request"] = {"at": now, "by": actor(caller), "evidence": body["evidence"]}
            if action == "approve":
                changes |= {"closed_at": now, "closed_ts": to_ms(now), "reviewed_by": actor(caller)}
                changes["closed_on_time"] = now <= doc["due_at"]
            if action == "return":
                changes["close_request"] = None
            event_type = subjects.LEDGER_CLOSED if action == "approve" else subjects.LEDGER_UPDATED
            data: dict[str, Any] = {"action": action, "status": rule.to, "at": now}
            if action == "approve":
                data["closed_on_time"] = changes["closed_on_time"]
            return changes, event_type, data

        return await self.change(entry_id, caller, make, precondition)

    async def link_case(
        self,
        entry_id: str,
        case_id: str,
        caller: Principal,
        precondition: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Link a case to the entry (and so the entry to the case); a case received after the entry
        was opened marks the entry as one that became a case."""
        doc = await self.visible(entry_id, caller)
        if case_id in doc["case_ids"]:
            return doc
        [linked] = await self._cases([case_id], self.clock.now(), opened_at=doc["opened_at"])

        def make(doc: dict[str, Any], now: datetime) -> tuple[dict[str, Any], str, dict[str, Any]]:
            if case_id in doc["case_ids"]:
                return (
                    {},
                    subjects.LEDGER_UPDATED,
                    {"action": "link_case", "status": doc["status"], "at": now},
                )
            cases = [*doc["cases"], linked]
            changes = {
                "cases": cases,
                "case_ids": [c["case_id"] for c in cases],
                "became_case": any(c["after_opening"] for c in cases),
            }
            data = {"action": "link_case", "status": doc["status"], "at": now, "case_id": case_id}
            return changes, subjects.LEDGER_UPDATED, data

        return await self.change(entry_id, caller, make, precondition)
