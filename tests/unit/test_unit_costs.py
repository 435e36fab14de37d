"""bench.unit_costs: a case's floor from the units, and the counts read from an e2e run."""

import json

from bench.unit_costs import floor, measured_counts

UNITS = {
    "find": 1.0,
    "insert": 2.0,
    "update": 3.0,
    "findAndModify": 4.0,
    "http_stack_ms": 5.0,
    "publish_ms_burst": 0.5,
    "delivery_ms_burst": 0.25,
}


def test_the_floor_adds_each_unit_times_its_count():
    counts = {"requests": 1, "events": 4, "deliveries": 8, "commands": {"find": 2, "update": 1}}
    assert floor(UNITS, counts, "burst") == 5.0 + 4 * 0.5 + 8 * 0.25 + 2 * 1.0 + 3.0


def test_measured_counts_take_the_lowest_rate_and_cost_commands_by_kind(tmp_path):
    run = {
        "jetstream_messages_per_case": 5.5,
        "jetstream_deliveries_per_case": 19.0,
        "cpu_ms_per_case_total": 90.0,
        "mongodb_commands_per_case": {
            "intake": {"total": 3.0, "find cases": 1.0, "bulkWrite -": 1.0, "findAndModify counters": 1.0},
            "routing": {"total": 2.0, "getMore routes": 0.5, "update routes": 1.5},
        },
    }
    path = tmp_path / "e2e.json"
    path.write_text(json.dumps({"runs": [run | {"offered_per_s": 20}, run | {"offered_per_s": 10}]}))
    found = measured_counts(path)
    assert found is not None
    counts, measured = found
    assert counts["offered_per_s"] == 10 and measured == 90.0
    assert counts["commands"] == {"find": 1.5, "insert": 1.0, "findAndModify": 1.0, "update": 1.5}
    assert measured_counts(tmp_path / "missing.json") is None
