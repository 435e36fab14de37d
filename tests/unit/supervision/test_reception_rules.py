"""The rules of a reception session (services/supervision/domain/reception.py): capacity, walk-ins,
one reception per case, the time limit's deadline, and the figures on records whose answers are known."""

from datetime import UTC, datetime, timedelta

import pytest

from services.supervision.domain import reception as rules
from services.supervision.domain.policy import _met

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def session(**fields) -> dict:
    return {
        "_id": "RS-1",
        "kind": "reception",
        "status": "planned",
        "capacity": 2,
        "leader": {"id": "L1", "name": "李某", "post": "县长"},
        "bookings": [],
        "receptions": [],
    } | fields


def booking(case_id: str, **fields) -> dict:
    return {
        "booking_id": f"B-{case_id}",
        "case_id": case_id,
        "case_no": f"NO-{case_id}",
        "status": "booked",
    } | fields


def test_bookings_stop_at_capacity_but_walk_ins_do_not():
    s = session()
    s |= rules.book(s, booking("a"))
    s |= rules.book(s, booking("b"))
    assert [b["slot"] for b in s["bookings"]] == [1, 2]
    with pytest.raises(rules.Refused, match="full"):
        rules.book(s, booking("c"))
    s |= rules.walk_in(s, booking("c", walk_in=True))
    with pytest.raises(rules.Refused, match="already"):
        rules.walk_in(s, booking("a", walk_in=True))
    s |= rules.cancel(s, "B-a", T0, "改期")
    s |= rules.book(s, booking("d"))  # the cancelled place is free again
    with pytest.raises(rules.Refused, match="cannot be less"):
        rules.check_capacity(s, 1)


def test_a_cancelled_session_takes_nothing_and_a_case_is_received_once():
    with pytest.raises(rules.Refused, match="cancelled"):
        rules.book(session(status="cancelled"), booking("a"))
    s = session()
    s |= rules.book(s, booking("a"))
    s |= rules.receive(s, {"case_id": "a", "case_no": "NO-a", "received_at": T0, "people": 1})
    assert s["status"] == "held" and s["bookings"][0]["status"] == "received"
    with pytest.raises(rules.Refused, match="received in this session already"):
        rules.receive(s, {"case_id": "a", "case_no": "NO-a", "received_at": T0, "people": 1})


def test_a_kind_requires_its_fields():
    base = {"starts_at": T0, "ends_at": T0 + timedelta(hours=2)}
    assert [p.field for p in rules.check_fields(base | {"kind": "video"})] == ["meeting_link"]
    assert [p.field for p in rules.check_fields(base | {"kind": "visit_with_cases"})] == ["town", "place"]
    assert rules.check_fields(base | {"kind": "reception", "place": "接待大厅"}) == []
    assert [
        p.field for p in rules.check_fields(base | {"kind": "reception", "place": "x", "ends_at": T0})
    ] == ["ends_at"]


def test_the_time_limit_is_met_by_a_later_reply_only():
    limit = rules.time_limit({"name": "李某", "post": "县长"}, "RR-1", T0, 10)
    assert limit["due_at"] == T0 + timedelta(days=10)
    assert (
        _met(limit, {"replied_at": T0 - timedelta(days=1)})["met_at"] is None
    )  # a reply before the decision
    assert _met(limit, {"replied_at": T0 + timedelta(days=3)})["met_at"] == T0 + timedelta(days=3)


def received(case_id: str, at: datetime, people: int = 1, decided: bool = True) -> dict:
    decision = {"instructions": "交办"} if decided else None
    return {"case_id": case_id, "people": people, "received_at": at, "decision": decision}


def test_the_figures_per_leader_on_known_records():
    l1 = {"id": "L1", "name": "李某", "post": "县长"}
    l2 = {"id": "L2", "name": "王某", "post": "副县长"}
    sessions = [
        session(
            _id="S1", leader=l1, status="held", receptions=[received("a", T0, 3), received("b", T0, 1, False)]
        ),
        session(
            _id="S2",
            leader=l1,
            status="held",
            receptions=[received("a", T0 + timedelta(days=7)), received("c", T0)],
        ),
        session(_id="S3", leader=l1, status="planned"),
        session(_id="S4", leader=l2, status="cancelled"),
        session(_id="S5", leader=l2, status="held", receptions=[received("d", T0, 2)]),
    ]
    cases = {
        "a": {"reply": {"result": "resolved", "at": T0 + timedelta(days=2)}},  # after the first decision
        "c": {"reply": {"result": "resolved", "at": T0 - timedelta(days=1)}},  # before: not counted
        "d": {"mediation": {"result": "agreed", "concluded_at": T0 + timedelta(days=1)}},
    }
    rows = {
        r["leader"]["id"]: {k: v for k, v in r.items() if k != "leader"}
        for r in rules.figures(sessions, cases)
    }
    assert rows == {
        "L1": {
            "sessions_planned": 3,
            "sessions_held": 2,
            "people_received": 6,
            "cases_decided": 2,
            "cases_resolved_after": 1,
        },
        "L2": {
            "sessions_planned": 2,
            "sessions_held": 1,
            "people_received": 2,
            "cases_decided": 1,
            "cases_resolved_after": 1,
        },
    }
