"""What a leader's office and the reception clerks do with reception sessions, and what a leader's
decision does to the case (docs/reception.md).

Each change reads the session, checks it (domain/reception.py), and replaces it under its version
guard with the events it owes (its outbox): `dispatch.reception.booked` when a case is booked or its
booking cancelled (notify tells the petitioner, with the join link of a video reception), and
`dispatch.reception.decided` when a leader decided on a case received (notify tells the units and the
petitioner; the event also lands on the case's timeline). A decision first acts on the case file
through the case commands: 领导包案 (`leader_holding`) when the leader holds the case, and the
leader's time limit as a deadline on the file. A crash between the case's change and the session's
leaves the case held without the reception recorded; recording it again applies it once (the case
is held already, the deadline is keyed by the reception).
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision import commands
from services.supervision.container import Supervision
from services.supervision.domain import reception as rules
from services.supervision.domain.lifecycle import OPEN
from services.supervision.domain.policy import to_ms
from services.supervision.entrypoints.deps import _area_codes, _unit_codes
from services.supervision.handlers import SOURCE

Precondition = Callable[[int], None] | None


class SessionNotFound(Exception):
    """No such session (HTTP 404)."""


def actor(caller: Principal) -> dict[str, Any]:
    return {"subject": caller.subject, "role": caller.role.value, "unit": caller.unit}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def case_of(sv: Supervision, case_id: str, caller: Principal) -> dict[str, Any]:
    """A case file the caller may see, or commands.CaseNotFound."""
    doc = await sv.files.get(case_id)
    if doc is None or not sv.confidentiality.may_see(
        caller,
        unit_codes=_unit_codes(doc),
        area_codes=_area_codes(doc),
        confidential=bool(doc.get("confidential")),
    ):
        raise commands.CaseNotFound(f"no case {case_id}")
    return doc


def stored(fields: dict[str, Any]) -> dict[str, Any]:
    """A session's fields as stored: the start as integer ms for the calendar's order and ranges."""
    return fields | {"starts_ts": to_ms(fields["starts_at"])}


async def create(sv: Supervision, fields: dict[str, Any], caller: Principal) -> dict[str, Any]:
    doc = stored(fields) | {
        "_id": new_id("RS"),
        "status": "planned",
        "bookings": [],
        "cases_taken": [],
        "receptions": [],
        "created_by": actor(caller),
        "created_at": sv.clock.now(),
    }
    return await sv.sessions.insert(doc)


async def change(
    sv: Supervision,
    session_id: str,
    make: Callable[[dict[str, Any]], tuple[dict[str, Any], list[Envelope]]],
    precondition: Precondition = None,
) -> dict[str, Any]:
    """Read a session, make its change and save it; again when another writer got there first."""

    async def attempt() -> dict[str, Any]:
        doc = await sv.sessions.get(session_id)
        if doc is None:
            raise SessionNotFound(f"no reception session {session_id}")
        if precondition is not None:
            precondition(doc["version"])
        changes, events = make(doc)
        return await sv.sessions.save(doc, changes, events)

    saved = await store.retry_on_conflict(attempt)
    sv.runtime.nudge()
    return saved


MOVES = ("starts_at", "place", "meeting_link", "join_link")
"""A session's fields whose change the petitioners booked into it are told of."""


def edit(
    sv: Supervision, fields: dict[str, Any]
) -> Callable[[dict[str, Any]], tuple[dict[str, Any], list[Envelope]]]:
    def make(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Envelope]]:
        if doc["status"] != "planned":
            raise rules.Refused(f"a {doc['status']} session is not edited")
        if "capacity" in fields:
            rules.check_capacity(doc, fields["capacity"])
        changes = stored(fields) if "starts_at" in fields else fields
        moved = any(doc.get(k) != v for k, v in fields.items() if k in MOVES)
        return changes, tell_booked(doc, doc | changes, "rescheduled", sv) if moved else []

    return make


def session_event(
    doc: dict[str, Any], booking: dict[str, Any], at: datetime, sv: Supervision, status: str | None = None
) -> Envelope:
    """`dispatch.reception.booked`: a case booked into a session (`booked`), its booking cancelled
    (`cancelled`), or the session it is booked into moved (`rescheduled`) or cancelled; `doc` is the
    session as the petitioner should now know it."""
    status = status or booking["status"]
    data = {
        "case_id": booking["case_id"],
        "case_no": booking["case_no"],
        "session_id": doc["_id"],
        "booking_id": booking["booking_id"],
        "status": status,
        "kind": doc["kind"],
        "leader": {"name": doc["leader"]["name"], "post": doc["leader"]["post"]},
        "starts_at": doc["starts_at"],
        "place": doc.get("place"),
        "join_link": doc.get("join_link") or doc.get("meeting_link") if doc["kind"] == "video" else None,
        "at": at,
    }
    return make_event(
        type=subjects.RECEPTION_BOOKED,
        source=SOURCE,
        subject=booking["case_id"],
        clock=sv.clock,
        event_id=derived_event_id(
            "reception", doc["_id"], booking["booking_id"], status, str(doc["version"])
        ),
        data=data,
    )


def tell_booked(doc: dict[str, Any], after: dict[str, Any], status: str, sv: Supervision) -> list[Envelope]:
    """The events owed to the petitioners booked into a session that moved or was cancelled."""
    now = sv.clock.now()
    told = [b for b in doc.get("bookings") or [] if b["status"] == "booked" and not b.get("walk_in")]
    return [session_event(after, b, now, sv, status) for b in told]


async def book(
    sv: Supervision,
    session_id: str,
    case_id: str,
    caller: Principal,
    *,
    walk_in: bool,
    precondition: Precondition,
) -> dict[str, Any]:
    """A case booked into a session (or, at the session, registered as a walk-in)."""
    case = await case_of(sv, case_id, caller)
    now = sv.clock.now()
    entry = {
        "booking_id": new_id("RB"),
        "case_id": case_id,
        "case_no": case["case_no"],
        "status": "booked",
        "walk_in": walk_in,
        "at": now,
        "by": actor(caller),
    }

    def make(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Envelope]]:
        if walk_in:  # registered at the window during the session: not counted against the capacity
            changes = rules.walk_in(doc, entry)
            return changes, []
        changes = rules.book(doc, entry)
        return changes, [session_event(doc, entry, now, sv)]

    return await change(sv, session_id, make, precondition)


async def cancel_booking(
    sv: Supervision, session_id: str, booking_id: str, reason: str | None, precondition: Precondition
) -> dict[str, Any]:
    now = sv.clock.now()

    def make(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Envelope]]:
        changes = rules.cancel(doc, booking_id, now, reason)
        booking = next(b for b in changes["bookings"] if b["booking_id"] == booking_id)
        events = [] if booking["walk_in"] else [session_event(doc, booking, now, sv)]
        return changes, events

    return await change(sv, session_id, make, precondition)


def open_cases_query(town: str) -> dict[str, Any]:
    """Supervision's open cases of a town: what a 带案下访 chooses from."""
    return {"jurisdiction.town": town, "status": {"$in": sorted(OPEN)}, "confidential": {"$ne": True}}


async def take_cases(
    sv: Supervision, session_id: str, case_ids: list[str], caller: Principal, precondition: Precondition
) -> dict[str, Any]:
    """The town's open cases a 带案下访 takes along; each must be one (422 names those that are not)."""
    session = await sv.sessions.get(session_id)
    if session is None:
        raise SessionNotFound(f"no reception session {session_id}")
    found = {
        d["_id"]: d
        async for d in sv.files.files.find(
            {"_id": {"$in": case_ids}, **open_cases_query(session.get("town") or "")},
            {"case_no": 1, "status": 1, "lead_unit": 1, "category": 1},
        )
    }
    missing = [i for i, c in enumerate(case_ids) if c not in found]
    if missing:
        raise NotOpenInTown(missing, session.get("town"))
    taken = [
        {
            "case_id": c,
            "case_no": found[c]["case_no"],
            "status": found[c]["status"],
            "lead_unit": found[c].get("lead_unit"),
            "taken_at": sv.clock.now(),
            "by": actor(caller),
        }
        for c in dict.fromkeys(case_ids)
    ]
    return await change(sv, session_id, lambda doc: (rules.take_cases(doc, taken), []), precondition)


class NotOpenInTown(Exception):
    """Cases named for a 带案下访 that are not open cases of its town (HTTP 422, by index)."""

    def __init__(self, indexes: list[int], town: str | None) -> None:
        super().__init__(f"not an open case of town {town}")
        self.indexes, self.town = indexes, town
