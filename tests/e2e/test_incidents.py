"""Incidents (同一事项) on the running platform: calls about one matter at one estate, in different words
and with different addresses, are one incident handled once by one unit; every caller hears the outcome.

This module starts its own stack with the shipped incident policy (data/policy/incidents.json): the
shared stack links nothing, since the other suites send the same texts at the same places."""

import json
from collections.abc import Iterator

import pytest

from devtools.stack import Stack
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import settled_case_file, wait_for

pytestmark = pytest.mark.e2e

SMELLS = [
    "小区里有一股刺鼻的臭味，像是化粪池冒出来的，熏得人头疼，请尽快处理。",
    "这两天小区一直有化粪池的臭味，怀疑化粪池堵了在往外冒，窗户都不敢开。",
    "楼下化粪池臭气熏天，晚上臭味更重，熏得人头疼，希望赶紧派人疏通。",
    "闻到一股化粪池的臭味，已经好几天了，麻烦有关部门来看看。",
    "化粪池好像堵了，整个楼道都是刺鼻的臭味，请派人来处理一下。",
]
OTHER_MATTER = "小区门口的路灯坏了一个多月了，晚上走路很黑很危险，请尽快修好路灯。"
PHONES = [f"1390000{n:04d}" for n in range(1, 7)]


@pytest.fixture(scope="module")
def linking_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The platform with the shipped incident policy."""
    s = start_stack(
        tmp_path_factory.mktemp("incidents"),
        {"INCIDENT_POLICY_FILE": str(DATA_DIR / "policy" / "incidents.json")},
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def estate() -> tuple[str, str]:
    """An estate of the county package and its street address: two gazetteer names of one grid."""
    entries = json.loads((DEFAULT_COUNTY_DIR / "gazetteer.json").read_text(encoding="utf-8"))
    by_grid: dict[str, list[str]] = {}
    for e in entries:
        by_grid.setdefault(e["grid"], []).append(e["name"])
    name, street = next(names[:2] for names in by_grid.values() if len(names) >= 2 and names[1][-1] == "号")
    return name, street


def _api(stack: Stack, role: str, unit: str | None = None) -> Api:
    from devtools.keys import issue_token, unit_area

    area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
    return Api(stack, issue_token(stack.run_dir / "keys", role=role, unit=unit, area=area))


def _call(clerk: Api, text: str, address: str, phone: str) -> str:
    body = {
        "channel": "hotline_12345",
        "text": text,
        "address": address,
        "petitioner": {"name": "来电人", "phone": phone},
    }
    r = clerk.post("intake", "/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def _notices(dispatcher: Api, case_id: str, kind: str) -> list[dict] | None:
    r = dispatcher.get("notify", "/v1/notifications", params={"case_id": case_id})
    return [n for n in r.json()["items"] if n["kind"] == kind] or None


def test_a_burst_at_one_estate_is_one_incident_handled_once(linking_stack, estate):
    clerk, dispatcher = _api(linking_stack, "reception_clerk"), _api(linking_stack, "dispatcher")
    name, street = estate
    addresses = [f"{name}3号楼", f"{name}小区东门", f"{street}{name}", f"{name}12栋2单元", f"{name}北门附近"]

    lead_id = _call(clerk, SMELLS[0], addresses[0], PHONES[0])
    lead = settled_case_file(dispatcher, lead_id, timeout=90)
    assert lead["status"] == "assigned", lead
    unit_code = lead["lead_unit"]["code"]

    later = [_call(clerk, t, a, p) for t, a, p in zip(SMELLS[1:], addresses[1:], PHONES[1:5], strict=True)]
    other_id = _call(clerk, OTHER_MATTER, f"{name}东门", PHONES[5])
    attached = [settled_case_file(dispatcher, c, statuses={"attached"}, timeout=60) for c in later]
    for case in attached:  # attached to the first call, with the place and similarity that linked it
        assert case["incident"]["lead_case_id"] == lead_id, case
        assert case["lead_unit"] is None and case["incident"]["similarity"] >= 0.2
        assert case["incident"]["place"] == lead["jurisdiction"]["grid"]
    route = dispatcher.get("routing", f"/v1/routes/{later[0]}").json()
    assert route["lead_unit"]["code"] == unit_code and route["incident"]["lead_case_no"] == lead["case_no"]
    assert any("Incident (同一事项)" in line for line in route["explanation"])

    # the same place, another matter: a case of its own
    other = settled_case_file(dispatcher, other_id)
    assert other["status"] in ("assigned", "manual_dispatch") and other.get("incident") is None

    unit = _api(linking_stack, "unit_handler", unit_code)
    lines = unit.get("supervision", "/v1/worklist").json()["items"]
    ids = [line["case_id"] for line in lines]
    assert lead_id in ids and not set(later) & set(ids)
    assert next(line for line in lines if line["case_id"] == lead_id)["linked_calls"] == len(later)

    # a dispatcher detaches one wrongly linked call: it is routed on its own
    detached_id = later[-1]
    version = dispatcher.get("routing", f"/v1/routes/{detached_id}").headers["ETag"]
    r = dispatcher.post(
        "routing",
        f"/v1/routes/{detached_id}/detach",
        json={"reason": "另一栋楼的下水道问题"},
        headers={"If-Match": version},
    )
    assert r.status_code == 200, r.text
    assert r.json()["incident"] is None and r.json()["corrections"][-1]["kind"] == "detach"
    alone = settled_case_file(dispatcher, detached_id, statuses={"assigned", "manual_dispatch"})
    assert alone.get("incident") is None
    assert _api(linking_stack, "unit_handler", unit_code).post(
        "routing", f"/v1/routes/{detached_id}/detach", json={"reason": "x"}
    ).status_code in (403, 404)
    assert (
        dispatcher.post("routing", f"/v1/routes/{detached_id}/detach", json={"reason": "again"}).status_code
        == 409
    )

    def count() -> int | None:
        items = unit.get("supervision", "/v1/worklist").json()["items"]
        n = next(line for line in items if line["case_id"] == lead_id)["linked_calls"]
        return n if n == len(later) - 1 else None

    wait_for(count, what="the incident's count without the detached call")

    # the lead unit answers once; every attached caller is told through their own notices
    assert unit.post("supervision", f"/v1/cases/{lead_id}/sign", json={}).status_code == 200
    r = unit.post(
        "supervision", f"/v1/cases/{lead_id}/reply", json={"result": "resolved", "text": "化粪池已疏通。"}
    )
    assert r.status_code == 200, r.text
    still = later[:-1]
    for case_id in [lead_id, *still]:
        replies = wait_for(lambda c=case_id: _notices(dispatcher, c, "reply"), what=f"the reply to {case_id}")
        assert all(p not in json.dumps(replies) for p in PHONES)
    for case_id in still:
        case = dispatcher.get("supervision", f"/v1/cases/{case_id}").json()
        assert case["status"] == "replied" and case["reply"]["result"] == "resolved", case
        document = dispatcher.get("supervision", f"/v1/cases/{case_id}/reply-document")
        assert document.status_code == 200 and case["case_no"] in document.text
    assert _notices(dispatcher, detached_id, "reply") is None

    # closing the lead closes the incident's attached cases with it
    assert (
        clerk.post("supervision", f"/v1/cases/{lead_id}/followup", json={"rating": "satisfied"}).status_code
        == 200
    )
    assert dispatcher.post("supervision", f"/v1/cases/{lead_id}/close", json={}).status_code == 200
    for case_id in still:
        closed = settled_case_file(dispatcher, case_id, statuses={"closed"})
        assert closed["incident"]["lead_case_id"] == lead_id
    assert dispatcher.get("supervision", f"/v1/cases/{detached_id}").json()["status"] != "closed"

    # the smell again after the answer: a case of its own, not closed with the answer given before
    again_id = _call(clerk, SMELLS[3], addresses[1], PHONES[0])
    again = settled_case_file(dispatcher, again_id, statuses={"assigned"}, timeout=60)
    assert again.get("incident") is None and again["lead_unit"]["code"] == unit_code
    assert dispatcher.get("routing", f"/v1/routes/{again_id}").json()["incident"]["lead_case_id"] == lead_id
