"""The profile's sections folded from their records: a case's agents in the order they took it up,
the last one current; a ledger entry as its steps left it, whatever order the records come in, shown
only once its opening is known, and naming only the petitioner's cases."""

from datetime import UTC, datetime, timedelta

from services.intake.domain.profile_sections import agent_lines, entry_line

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def agent(case_id: str, agent_id: str, hours: int, how: str = "dispatcher") -> dict[str, object]:
    at = T0 + timedelta(hours=hours)
    record = {"case_id": case_id, "kind": "represented", "agent_id": agent_id, "agent_name": agent_id}
    return record | {"tier": "village", "how": how, "at": at}


def test_a_cases_agents_follow_each_other_and_the_last_is_current():
    records = [
        agent("c1", "B", 5, "escalation") | {"kind": "agent_escalated", "tier": "town"},
        agent("c1", "A", 1, "intake"),
        agent("c2", "C", 3),
        {"case_id": "c1", "kind": "replied", "at": T0},  # another later fact is not an agent
    ]
    lines = agent_lines(records, {"c1": "N1"})
    assert [(line["agent_id"], line["current"]) for line in lines] == [("B", True), ("C", True), ("A", False)]
    first = lines[2]
    assert first["until"] == T0 + timedelta(hours=5) and first["case_no"] == "N1"
    assert lines[0]["until"] is None and lines[0]["how"] == "escalation"


def test_an_entry_is_shown_as_its_steps_left_it_with_only_the_petitioners_cases():
    opening = {
        "kind": "ledger_opened",
        "entry_id": "E",
        "entry_no": "TZ1",
        "risk_kind": "hazard",
        "risk_level": "high",
        "town": "T",
        "owner_unit": {"code": "U", "name": "u"},
        "status": "opened",
        "at": T0,
    }
    link = {"kind": "ledger_link", "entry_id": "E"}
    steps = [
        {"kind": "ledger_closed", "status": "closed", "at": T0 + timedelta(days=3), "closed_on_time": False},
        link | {"case_id": "c1", "at": T0 + timedelta(days=1)},  # a link_case step's link
        {"kind": "ledger_updated", "status": "opened", "at": T0 + timedelta(days=1)},
        {"kind": "ledger_updated", "status": "close_requested", "at": T0 + timedelta(days=2)},
        link | {"case_id": "c9", "at": T0},  # another person's case, linked at the opening
    ]
    assert entry_line(steps, {"c1"}) is None  # the opening has not arrived yet
    line = entry_line([*steps, opening], {"c1"})
    assert line is not None
    closed = (line["status"], line["closed_at"], line["closed_on_time"])
    assert closed == ("closed", T0 + timedelta(days=3), False)
    assert line["case_ids"] == ["c1"] and (line["kind"], line["level"]) == ("hazard", "high")
    assert line["joined_by"] == ["case"]

    # a party's key record (any time) neither changes the status nor links a case
    party = {"kind": "ledger_party", "entry_id": "E", "party_key": "k", "at": T0 + timedelta(days=9)}
    by_party = entry_line([*steps, opening, party], set(), by_party=True)
    assert by_party is not None and by_party["status"] == "closed"
    assert by_party["case_ids"] == [] and by_party["joined_by"] == ["party"]
    both = entry_line([*steps, opening, party], {"c1"}, by_party=True)
    assert both is not None and both["joined_by"] == ["case", "party"]
