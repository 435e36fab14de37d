"""The petitioner profile joins the risk-ledger entries that name the petitioner as a party, on the
whole platform (decision 0046): supervision keys the parties as intake keys petitioners
(dispatch_common/identity_keys.py), the opening carries the keys sealed, intake's profile consumer
keeps them, and the profile shows the entry, saying it joined by party. A party whose phone is
written with +86 and dashes is the petitioner of 139...; another person's entry stays off the profile."""

import json
from typing import Any

from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api
from tests.e2e.flow import wait_for

VILLAGE = next(
    s["expect"]["village"]
    for s in map(json.loads, (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text("utf-8").splitlines())
    if s.get("expect", {}).get("village")
)
PETITIONER = "13912340001"
NEIGHBOUR = "13912340002"
STRANGER = "13912340003"


def register(clerk: Api, phone: str, name: str) -> str:
    body = {
        "channel": "petition_visit",
        "people_count": 1,
        "text": "邻居长期占用公共通道堆放杂物，多次协商无果",
        "petitioner": {"name": name, "phone": phone},
    }
    r = clerk.post("intake", "/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def open_entry(dispatcher: Api, phone: str, unit: str) -> dict[str, Any]:
    body = {
        "kind": "dispute",
        "title": "排查发现邻里通道纠纷",
        "place": {"area": VILLAGE},
        "parties": [{"name": "当事人", "phone": phone}],
        "source": {"kind": "patrol"},
        "risk_level": "medium",
        "owner": {"unit": unit, "person": "责任人"},
    }
    r = dispatcher.post("supervision", "/v1/ledger/entries", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def risk_entries(dispatcher: Api, case_id: str) -> dict[str, dict[str, Any]]:
    r = dispatcher.get("intake", f"/v1/cases/{case_id}/profile", params={"reason": "接访核实"})
    assert r.status_code == 200, r.text
    return {e["entry_id"]: e for e in r.json()["sections"]["risk_entries"]}


def test_an_entry_naming_the_petitioner_as_a_party_is_on_their_profile_and_no_one_elses(
    stack, dispatcher, clerk, units
):
    mine = register(clerk, PETITIONER, "张三")
    neighbours = register(clerk, NEIGHBOUR, "李四")
    unit = units[0]["code"]
    # the same person's phone as supervision's clerk typed it: country code and dashes
    named = open_entry(dispatcher, "+86-139-1234-0001", unit)
    other = open_entry(dispatcher, STRANGER, unit)
    assert PETITIONER not in json.dumps(named)  # supervision shows the party masked

    entries = wait_for(
        lambda: (found := risk_entries(dispatcher, mine)).get(named["entry_id"]) and found,
        what="the entry naming the petitioner on their profile",
    )
    line = entries[named["entry_id"]]
    assert line["joined_by"] == ["party"] and line["case_ids"] == []
    assert (line["kind"], line["level"], line["status"]) == ("dispute", "medium", "opened")
    assert other["entry_id"] not in entries  # a stranger's entry is not the petitioner's

    # linked to the petitioner's case too: one line, joined both ways
    r = dispatcher.post(
        "supervision", f"/v1/ledger/entries/{named['entry_id']}/cases", json={"case_id": mine}
    )
    assert r.status_code == 200, r.text
    both = wait_for(
        lambda: (e := risk_entries(dispatcher, mine).get(named["entry_id"])) and e["case_ids"] and e,
        what="the linked case on the profile's entry",
    )
    assert both["joined_by"] == ["case", "party"] and both["case_ids"] == [mine]

    # the neighbour, who petitioned too, is a party of neither entry
    theirs = risk_entries(dispatcher, neighbours)
    assert named["entry_id"] not in theirs and other["entry_id"] not in theirs
