"""The risk ledger (排查台账) on the whole platform: a grid worker's entry, placed by an address as a case
is, worked on by the town, closed by a supervisor, linked to the case it later became, and counted.
The clocked paths (reminders, escalation, the inspection) are in tests/integration/test_ledger.py."""

import json
from typing import Any

from devtools.keys import issue_token
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api
from tests.e2e.flow import settled_case_file, submission

SAMPLES = [
    json.loads(line)
    for line in (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def test_a_patrol_entry_is_closed_and_the_case_it_became_is_counted(stack, as_role, dispatcher, clerk):
    sample, other = [s for s in SAMPLES if s["expect"].get("village") and not s["expect"]["flags"]][:2]
    case = settled_case_file(
        dispatcher, clerk.post("intake", "/v1/cases", json=submission(sample)).json()["case_id"]
    )
    place = case["jurisdiction"]
    town_unit = case["lead_unit"]["code"]
    grid = Api(stack, issue_token(stack.run_dir / "keys", role="grid_worker", area=place["village"]))
    body: dict[str, Any] = {
        "kind": "dispute",
        "title": "巡查发现邻里纠纷",
        "place": {"area": place["village"]},
        "parties": [{"name": "王五", "phone": "13900139000"}],
        "source": {"kind": "patrol"},
        "risk_level": "medium",
        "owner": {"unit": town_unit, "person": "责任人"},
    }
    r = grid.post("supervision", "/v1/ledger/entries", json=body)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["place"]["village"] == place["village"] and "王五" not in r.text
    assert entry["parties"][0]["name_masked"] == "王*"

    unit = as_role("unit_handler", town_unit)
    evidence = {"note": "已调解", "evidence": [{"description": "调解笔录"}]}
    r = unit.post("supervision", f"/v1/ledger/entries/{entry['entry_id']}/close-request", json=evidence)
    assert r.status_code == 200, r.text
    supervisor = as_role("supervisor")
    r = supervisor.post(
        "supervision", f"/v1/ledger/entries/{entry['entry_id']}/review", json={"decision": "approve"}
    )
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["closed_on_time"], r.text

    # the case registered before the entry was opened: linked, but not one the entry "became"
    r = dispatcher.post(
        "supervision", f"/v1/ledger/entries/{entry['entry_id']}/cases", json={"case_id": case["case_id"]}
    )
    assert r.status_code == 200 and r.json()["became_case"] is False, r.text
    later = settled_case_file(
        dispatcher, clerk.post("intake", "/v1/cases", json=submission(other)).json()["case_id"]
    )
    r = dispatcher.post(
        "supervision", f"/v1/ledger/entries/{entry['entry_id']}/cases", json={"case_id": later["case_id"]}
    )
    assert r.status_code == 200 and r.json()["became_case"] is True, r.text
    listed = dispatcher.get("supervision", f"/v1/cases/{later['case_id']}/ledger-entries").json()["items"]
    assert [e["entry_id"] for e in listed] == [entry["entry_id"]]

    figures = supervisor.get("supervision", "/v1/ledger/figures", params={"group_by": "town"}).json()
    row = next(r for r in figures["rows"] if r["key"] == place["town"])
    assert row["closed_on_time"] >= 1 and row["became_case"] >= 1
