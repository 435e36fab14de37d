"""Leaders' reception days (领导接访 / 下访 / 带案下访 / 视频接访): what a session allows. Pure: no I/O.

A session is planned by a leader's office: who receives (the leader's name and post), the kind, when,
where (the reception hall, a town, or a meeting link), the topics and how many cases may be booked.
Reception clerks book cases into it until it is full; people who come without a booking are
registered at the session (walk-ins, not counted against the capacity: a leader does not send away
whoever came to the window); a visit to a town with cases (带案下访) carries the town's open cases
chosen beforehand. Each reception records who was received for which case and what the leader
decided; `services/supervision/reception.py` turns a decision into actions on the case.

    planned -> held (the first reception recorded) ; planned -> cancelled
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

KINDS = {
    "reception": "领导接访",
    "visit": "领导下访",
    "visit_with_cases": "带案下访",
    "video": "视频接访",
}
TOWN_KINDS = frozenset({"visit", "visit_with_cases"})
"""Kinds held in a town: the session names the town (an area code of the county package)."""
LIVE = frozenset({"planned", "held"})
"""States in which bookings, walk-ins and receptions are taken."""
TIME_LIMIT_KIND = "leader_time_limit"
TIME_LIMIT_LABEL = "领导交办时限"


class Refused(Exception):
    """The session's state does not allow it (HTTP 409)."""


class Unknown(Exception):
    """No such booking in the session (HTTP 404)."""


@dataclass(frozen=True)
class FieldError:
    """A reason a session's fields cannot stand, at a body field (HTTP 422)."""

    field: str
    msg: str

    def as_error(self) -> dict[str, Any]:
        return {"loc": ["body", self.field], "msg": self.msg, "type": "value_error"}


def check_fields(session: dict[str, Any]) -> list[FieldError]:
    """What the kind of a session requires of its other fields."""
    problems = []
    kind = session["kind"]
    if session["ends_at"] <= session["starts_at"]:
        problems.append(FieldError("ends_at", "the session must end after it starts"))
    if kind in TOWN_KINDS and not session.get("town"):
        problems.append(FieldError("town", f"a {KINDS[kind]} names the town it goes to"))
    if kind == "video" and not session.get("meeting_link"):
        problems.append(FieldError("meeting_link", "a 视频接访 has a meeting link"))
    if kind != "video" and not session.get("place"):
        problems.append(FieldError("place", f"a {KINDS[kind]} names its place"))
    return problems


def active_bookings(session: dict[str, Any]) -> list[dict[str, Any]]:
    """The bookings and walk-ins not cancelled."""
    return [b for b in session.get("bookings") or [] if b["status"] != "cancelled"]


def places_taken(session: dict[str, Any]) -> list[dict[str, Any]]:
    """The bookings that hold one of the session's places (walk-ins hold none)."""
    return [b for b in active_bookings(session) if not b.get("walk_in")]


def check_capacity(session: dict[str, Any], capacity: int) -> None:
    """Refuse a capacity below the places already booked."""
    booked = len(places_taken(session))
    if capacity < booked:
        raise Refused(f"{booked} cases are booked already; the capacity cannot be less")


def _live(session: dict[str, Any]) -> None:
    if session["status"] not in LIVE:
        raise Refused(f"the session is {session['status']}")


def book(session: dict[str, Any], booking: dict[str, Any]) -> dict[str, Any]:
    """A case booked into the session: refused when the session is full, not live, or already has
    the case (booked, or received as a walk-in)."""
    _not_twice(session, booking)
    taken = places_taken(session)
    if len(taken) >= session["capacity"]:
        raise Refused(f"the session is full: {session['capacity']} cases are booked")
    return {"bookings": [*session.get("bookings", []), {**booking, "slot": len(taken) + 1}]}


def walk_in(session: dict[str, Any], booking: dict[str, Any]) -> dict[str, Any]:
    """A case whose petitioner came to the session without a booking (made or found at the window)."""
    _not_twice(session, booking)
    return {"bookings": [*session.get("bookings", []), {**booking, "slot": None}]}


def _not_twice(session: dict[str, Any], booking: dict[str, Any]) -> None:
    _live(session)
    if any(b["case_id"] == booking["case_id"] for b in active_bookings(session)):
        raise Refused(f"case {booking['case_no']} is booked in this session already")


def cancel(session: dict[str, Any], booking_id: str, at: datetime, reason: str | None) -> dict[str, Any]:
    """A booking cancelled: its place is free again. A case already received stays received."""
    bookings = list(session.get("bookings") or [])
    index = next((i for i, b in enumerate(bookings) if b["booking_id"] == booking_id), None)
    if index is None:
        raise Unknown(f"no booking {booking_id} in session {session['_id']}")
    if bookings[index]["status"] != "booked":
        raise Refused(f"the booking is {bookings[index]['status']}")
    bookings[index] = {**bookings[index], "status": "cancelled", "cancelled_at": at, "reason": reason}
    return {"bookings": bookings}


def take_cases(session: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The open cases a 带案下访 takes along (the list replaces the one before)."""
    _live(session)
    if session["kind"] != "visit_with_cases":
        raise Refused(
            f"only a {KINDS['visit_with_cases']} takes cases along; this is a {KINDS[session['kind']]}"
        )
    return {"cases_taken": cases}


def receive(session: dict[str, Any], reception: dict[str, Any]) -> dict[str, Any]:
    """A reception recorded: the booking it was for is received, the session is held."""
    _live(session)
    case_id = reception["case_id"]
    if any(r["case_id"] == case_id for r in session.get("receptions") or []):
        raise Refused(f"case {reception['case_no']} was received in this session already")
    changes: dict[str, Any] = {"receptions": [*session.get("receptions", []), reception]}
    bookings = list(session.get("bookings") or [])
    for i, b in enumerate(bookings):
        if b["case_id"] == case_id and b["status"] == "booked":
            bookings[i] = {**b, "status": "received", "received_at": reception["received_at"]}
            changes["bookings"] = bookings
    if session["status"] == "planned":
        changes |= {"status": "held", "held_at": reception["received_at"]}
    return changes


def time_limit(leader: dict[str, Any], reception_id: str, start: datetime, days: int) -> dict[str, Any]:
    """The deadline a leader's time limit puts on the case file, met by the unit's reply."""
    return {
        "kind": TIME_LIMIT_KIND,
        "label": TIME_LIMIT_LABEL,
        "start_at": start,
        "due_at": start + timedelta(days=days),
        "met_at": None,
        "met_by": "replied",
        "extended_days": 0,
        "response_tier": None,
        "alarm": True,
        "escalate": False,
        "basis": f"{leader['name']}（{leader['post']}）接访交办：{days}日内办结",
        "source_id": reception_id,
    }


def resolved_after(case: dict[str, Any] | None, decided_at: datetime) -> bool:
    """Whether a case was resolved after the leader's decision: the unit replied 已解决 since, or a
    mediation of it reached an agreement since."""
    if case is None:
        return False
    reply = case.get("reply") or {}
    if reply.get("result") == "resolved" and reply.get("at") and reply["at"] >= decided_at:
        return True
    mediation = case.get("mediation") or {}
    concluded = mediation.get("concluded_at")
    return mediation.get("result") == "agreed" and concluded is not None and concluded >= decided_at


def figures(sessions: list[dict[str, Any]], cases: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per leader, of the sessions given (one period's): sessions held, people received, cases
    decided and of those resolved afterwards. `cases` are the case files of the cases decided."""
    rows: dict[str, dict[str, Any]] = {}
    for s in sessions:
        leader = s["leader"]
        row = rows.setdefault(
            leader["id"],
            {
                "leader": leader,
                "sessions_planned": 0,
                "sessions_held": 0,
                "people_received": 0,
                "_decided": {},
            },
        )
        row["sessions_planned"] += 1
        if s["status"] != "held":
            continue
        row["sessions_held"] += 1
        for r in s.get("receptions") or []:
            row["people_received"] += r["people"]
            if r.get("decision"):
                first = row["_decided"].get(r["case_id"])
                row["_decided"][r["case_id"]] = min(first, r["received_at"]) if first else r["received_at"]
    out = []
    for row in rows.values():
        decided = row.pop("_decided")
        row["cases_decided"] = len(decided)
        row["cases_resolved_after"] = sum(resolved_after(cases.get(c), at) for c, at in decided.items())
        out.append(row)
    return sorted(out, key=lambda r: r["leader"]["id"])
