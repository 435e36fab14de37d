"""A reception recorded, and what the leader's decision does to the case (docs/reception.md).

The case must be on the session (booked, registered as a walk-in, or taken along on a 带案下访). The
decision acts on the case file before the session records it: 领导包案 through the case commands
(`leader_holding`, which announces `dispatch.case.supervised`), and a time limit as a deadline on the
file keyed by the reception (so recording it again does not add a second). Then the session keeps the
reception and owes `dispatch.reception.decided`, which notify tells the petitioner and the units, and
which lands on the case's timeline.
"""

from typing import Any

from dispatch_common import store, subjects
from dispatch_common.auth import Principal
from dispatch_common.envelope import Envelope, derived_event_id, make_event
from services.supervision import commands
from services.supervision.container import Supervision
from services.supervision.domain import reception as rules
from services.supervision.domain.lifecycle import OPEN, NotAllowed
from services.supervision.handlers import SOURCE, save_file
from services.supervision.reception import Precondition, SessionNotFound, actor, case_of, change, new_id


def on_session(session: dict[str, Any], case_id: str) -> dict[str, Any]:
    """How the case came to the session: its booking (or walk-in), or the 带案下访 list."""
    booking = next((b for b in rules.active_bookings(session) if b["case_id"] == case_id), None)
    if booking is not None:
        return {
            "booking_id": booking["booking_id"],
            "walk_in": bool(booking.get("walk_in")),
            "taken_along": False,
        }
    if any(c["case_id"] == case_id for c in session.get("cases_taken") or []):
        return {"booking_id": None, "walk_in": False, "taken_along": True}
    raise rules.Refused("the case is not on this session: book it, or register the walk-in first")


async def _apply(
    sv: Supervision,
    session: dict[str, Any],
    case: dict[str, Any],
    decision: dict[str, Any],
    reception_id: str,
    caller: Principal,
) -> dict[str, Any]:
    """The decision's actions on the case file; the decision as recorded (with the due time)."""
    leader = session["leader"]
    if case["status"] not in OPEN:
        raise NotAllowed(f"the case is {case['status']}: a leader's decision acts on an open case")
    if decision.get("holding"):
        details = {
            "leader": f"{leader['name']}（{leader['post']}）",
            "responsibilities": decision["instructions"],
            "plan": decision.get("plan") or decision["instructions"],
        }
        await commands.act(
            case["_id"],
            commands.Command("leader_holding", None, details),
            caller=caller,
            files=sv.files,
            keeper=sv.keeper,
            clock=sv.clock,
            confidential_readers=sv.confidentiality.readers,
        )
    days = decision.get("time_limit_days")
    if not days:
        return decision | {"due_at": None}
    deadline = rules.time_limit(leader, reception_id, sv.clock.now(), days)

    async def attempt() -> dict[str, Any]:
        doc = await sv.files.get(case["_id"])
        assert doc is not None
        others = [d for d in doc.get("external_deadlines") or [] if d.get("source_id") != reception_id]
        return await save_file(sv.files, sv.keeper, doc, {"external_deadlines": [*others, deadline]})

    await store.retry_on_conflict(attempt)
    return decision | {"due_at": deadline["due_at"]}


def decided_event(sv: Supervision, session: dict[str, Any], reception: dict[str, Any]) -> Envelope:
    decision = reception["decision"]
    return make_event(
        type=subjects.RECEPTION_DECIDED,
        source=SOURCE,
        subject=reception["case_id"],
        clock=sv.clock,
        event_id=derived_event_id("reception", session["_id"], reception["reception_id"], "decided"),
        data={
            "case_id": reception["case_id"],
            "case_no": reception["case_no"],
            "session_id": session["_id"],
            "reception_id": reception["reception_id"],
            "kind": session["kind"],
            "leader": {"name": session["leader"]["name"], "post": session["leader"]["post"]},
            "instructions": decision["instructions"],
            "holding": bool(decision.get("holding")),
            "units": decision["units"],
            "due_at": decision["due_at"],
            "at": reception["received_at"],
            "by": reception["by"],
        },
    )


async def record(
    sv: Supervision,
    session_id: str,
    body: dict[str, Any],
    caller: Principal,
    precondition: Precondition,
) -> dict[str, Any]:
    """Record a reception of a case at a session, with the leader's decision if there was one."""
    session = await sv.sessions.get(session_id)
    if session is None:
        raise SessionNotFound(f"no reception session {session_id}")
    if precondition is not None:
        precondition(session["version"])
    case = await case_of(sv, body["case_id"], caller)
    how = on_session(session, case["_id"])
    rules.receive(
        session, {"case_id": case["_id"], "case_no": case["case_no"], "received_at": None}
    )  # checks
    reception_id = new_id("RR")
    decision = body.get("decision")
    if decision is not None:
        decision = await _apply(sv, session, case, decision, reception_id, caller)
    reception = {
        "reception_id": reception_id,
        "case_id": case["_id"],
        "case_no": case["case_no"],
        **how,
        "people": body["people"],
        "received_at": sv.clock.now(),
        "by": actor(caller),
        "decision": decision,
    }

    def make(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Envelope]]:
        changes = rules.receive(doc, reception)
        return changes, [decided_event(sv, doc, reception)] if decision is not None else []

    return await change(sv, session_id, make)
