"""People correct routing through the running platform: placement, override, return, dispute, reload."""

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e


def routed(api, case_id: str) -> dict:
    """Wait for routing's stored decision of a case."""

    def probe():
        r = api.get("routing", f"/v1/routes/{case_id}")
        return r.json() if r.status_code == 200 else None

    return wait_for(probe, what=f"route of {case_id}")


def submit(clerk, sample: dict) -> str:
    r = clerk.post("intake", "/v1/cases", json=submission(sample))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "accepted", r.text
    return r.json()["case_id"]


def file_with(api, case_id: str, check) -> dict:
    """Wait until supervision's case file satisfies check."""

    def probe():
        r = api.get("supervision", f"/v1/cases/{case_id}")
        return r.json() if r.status_code == 200 and check(r.json()) else None

    return wait_for(probe, what=f"case file of {case_id}")


def test_a_dispatcher_places_a_manual_case_and_supervision_assigns_it(clerk, dispatcher, samples, units):
    sample = next(
        s
        for s in samples
        if "manual" in s["expect"]["flags"] and "legal_redirect" not in s["expect"]["flags"]
    )
    case_id = submit(clerk, sample | {"channel": "petition_letter"})  # a letter is never answered at intake
    settled_case_file(dispatcher, case_id)
    route = routed(dispatcher, case_id)
    assert route["queue"] == "manual" and route["jurisdiction"]["town"] is None
    town = next(u["jurisdiction"] for u in units if u["level"] == "town")
    r = dispatcher.post(
        "routing", f"/v1/routes/{case_id}/override", json={"area": town, "reason": "来信人补充了所在乡镇"}
    )
    assert r.status_code == 200, r.text
    placed = r.json()
    assert placed["revision"] == 2 and placed["queue"] == "auto" and placed["jurisdiction"]["town"] == town
    assert placed["corrections"][0]["kind"] == "override"
    case = file_with(dispatcher, case_id, lambda c: c["status"] == "assigned")
    assert case["lead_unit"]["code"] == placed["lead_unit"]["code"]
    kinds = [e["type"] for e in case["timeline"]]
    assert "dispatch.case.rerouted" in kinds


def test_a_unit_returns_a_case_a_second_return_is_disputed_and_the_conference_decides(
    clerk, dispatcher, as_role, samples
):
    sample = next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"])
    case_id = submit(clerk, sample)
    settled_case_file(dispatcher, case_id)
    first = routed(dispatcher, case_id)["lead_unit"]["code"]

    as_first = as_role("unit_handler", first)
    assert as_first.get("routing", f"/v1/routes/{case_id}").status_code == 200  # a unit sees its own route
    r = as_first.post("routing", f"/v1/routes/{case_id}/return", json={"reason": "不属于本单位职责"})
    assert r.status_code == 200, r.text
    second = r.json()["lead_unit"]["code"]
    assert second != first and r.json()["excluded_units"] == [first]
    file_with(dispatcher, case_id, lambda c: (c.get("lead_unit") or {}).get("code") == second)
    assert as_first.get("routing", f"/v1/routes/{case_id}").status_code == 404  # no longer its case

    r = as_role("unit_leader", second).post(
        "routing", f"/v1/routes/{case_id}/return", json={"reason": "也不属于我们"}
    )
    assert r.status_code == 200 and r.json()["status"] == "disputed", r.text
    queue = dispatcher.get("routing", "/v1/disputes").json()["items"]
    assert case_id in [item["case_id"] for item in queue]
    file_with(dispatcher, case_id, lambda c: c["status"] == "route_disputed")

    assert (
        dispatcher.post(
            "routing", f"/v1/disputes/{case_id}/decision", json={"lead_unit": first, "reason": "决定"}
        ).status_code
        == 403
    )  # the joint conference decides, not a dispatcher
    r = as_role("county_leader").post(
        "routing", f"/v1/disputes/{case_id}/decision", json={"lead_unit": first, "reason": "联席会议决定"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "routed" and r.json()["lead_unit"]["code"] == first
    case = file_with(
        dispatcher, case_id, lambda c: c["status"] == "assigned" and c["lead_unit"]["code"] == first
    )
    kinds = [e["type"] for e in case["timeline"]]
    assert kinds.count("dispatch.case.rerouted") == 2 and "dispatch.case.route_disputed" in kinds
    assert case_id not in [i["case_id"] for i in dispatcher.get("routing", "/v1/disputes").json()["items"]]


def test_corrections_are_refused_with_reasons(clerk, dispatcher, as_role, samples):
    sample = next(s for s in samples if s["expect"].get("town") and not s["expect"]["flags"])
    case_id = submit(clerk, sample)
    settled_case_file(dispatcher, case_id)
    route = routed(dispatcher, case_id)

    r = dispatcher.post(
        "routing", f"/v1/routes/{case_id}/override", json={"lead_unit": "no-such-unit", "reason": "改派"}
    )
    assert r.status_code == 422
    assert (
        r.json()["errors"][0]["loc"] == ["body", "lead_unit"]
        and "unknown unit" in r.json()["errors"][0]["msg"]
    )
    r = dispatcher.post(
        "routing", f"/v1/routes/{case_id}/override", json={"lead_unit": route["lead_unit"]["code"]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "reason"]
    assert clerk.post("routing", f"/v1/routes/{case_id}/override", json={"reason": "改派"}).status_code == 403
    assert dispatcher.post("routing", "/v1/routes/nope/override", json={"reason": "改派"}).status_code == 404
    stranger = as_role("unit_handler", "no-such-unit")
    assert (
        stranger.post("routing", f"/v1/routes/{case_id}/return", json={"reason": "退回"}).status_code == 404
    )
    assert routed(dispatcher, case_id)["revision"] == 1  # nothing changed


def test_the_county_package_reloads_and_a_broken_one_is_refused(stack, as_role, dispatcher):
    admin = as_role("admin")
    county = Path(stack.service_env("routing")["COUNTY_DIR"])
    before = admin.get("routing", "/v1/admin/county").json()
    units_file = county / "units.json"
    original = units_file.read_text(encoding="utf-8")
    backup = county.parent / "units.json.orig"
    shutil.copy(units_file, backup)
    try:
        broken = json.loads(original)
        broken[0]["jurisdiction"] = "NO-SUCH-AREA"
        broken[1]["categories"] = ["7777"]
        units_file.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
        r = admin.post("routing", "/v1/admin/county/reload")
        assert r.status_code == 422
        problems = [d["msg"] for d in r.json()["errors"]]
        assert any("NO-SUCH-AREA" in p for p in problems) and any("7777" in p for p in problems)
        assert admin.get("routing", "/v1/admin/county").json()["package_version"] == before["package_version"]
        preview = dispatcher.post(
            "routing", "/v1/routes/preview", json={"channel": "hotline_12345", "text": "路灯坏了"}
        )
        assert preview.status_code == 200 and preview.json()["package_version"] == before["package_version"]

        renamed = json.loads(original)
        renamed[0]["name"] += "（新）"
        units_file.write_text(json.dumps(renamed, ensure_ascii=False), encoding="utf-8")
        r = admin.post("routing", "/v1/admin/county/reload")
        assert r.status_code == 200 and r.json()["changed"] is True
        assert r.json()["package_version"] != before["package_version"]
        assert dispatcher.post("routing", "/v1/admin/county/reload").status_code == 403
    finally:
        shutil.copy(backup, units_file)
        admin.post("routing", "/v1/admin/county/reload")
    assert admin.get("routing", "/v1/admin/county").json()["package_version"] == before["package_version"]


def test_corrections_are_counted_as_examples_for_the_classifier(as_role):
    admin = as_role("admin")
    state = admin.get("routing", "/v1/admin/classifier").json()
    assert state["min_examples"] >= 2 and state["examples"] >= 0
    if state["examples"] < state["min_examples"]:
        assert state["trained"] is False and state["categories"] == []
    trained = admin.post("routing", "/v1/admin/classifier/train")
    assert trained.status_code == 200 and trained.json()["examples"] == state["examples"]
