"""Proxy agents (信访代办员, 三级代办) on the running platform: a village agent files a case for a
petitioner, the case climbs 村 → 镇 → 县 by the tier policy while it is not resolved, the county agent
accepts the answer (化解) for the petitioner; the agents' inboxes, the directory's edits, who reaches
what, and the figures.

The platform here is its own: its tier policy gives each tier seconds instead of days, and supervision's
scanner looks twice a second (DEADLINE_SCAN_SECONDS), so the climb happens while the test waits.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.keys import issue_token, unit_area
from devtools.stack import Stack
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from tests.e2e.conftest import Api, start_stack
from tests.e2e.flow import settled_case_file, submission, wait_for

pytestmark = pytest.mark.e2e

VILLAGE, TOWN, COUNTY = "AG-V-990102001001", "AG-T-990102001", "AG-C-990102-1"
ELSEWHERE = "AG-V-990102002001"  # a village agent of another town
TIER_SECONDS = 3.0
CONSENT = {"method": "signed_form", "given_at": "2026-12-01T09:00:00+08:00"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("agents")
    policy = json.loads((DATA_DIR / "policy" / "agent_tiers.json").read_text())
    for rule in policy["tiers"]:
        if rule["hours"] is not None:
            rule["hours"] = TIER_SECONDS / 3600
    path = base / "agent_tiers.json"
    path.write_text(json.dumps(policy))
    s = start_stack(base, {"AGENT_TIER_POLICY_FILE": str(path), "DEADLINE_SCAN_SECONDS": "0.5"})
    try:
        yield s
    finally:
        s.stop()


def as_role(stack: Stack, role: str, unit: str | None = None) -> Api:
    area = unit_area(DEFAULT_COUNTY_DIR, unit) if unit else None
    return Api(stack, issue_token(stack.run_dir / "keys", role=role, unit=unit, area=area))


def as_agent(stack: Stack, agent_id: str) -> Api:
    return Api(stack, issue_token(stack.run_dir / "keys", role="proxy_agent", subject=agent_id))


def a_sample(samples: list[dict], n: int) -> dict[str, Any]:
    """The n-th sample that routing places in a town with no flags (each test its own text: the same
    text again would be a repeat)."""
    return [s for s in samples if s["expect"].get("town") and not s["expect"]["flags"]][n]


def inbox_kinds(agent: Api) -> list[tuple[str, str | None]]:
    r = agent.get("notify", "/v1/inbox", params={"limit": 100})
    assert r.status_code == 200, r.text
    return [(m["kind"], m["case_id"]) for m in r.json()["items"]]


def test_an_agents_case_climbs_the_tiers_and_is_resolved(stack: Stack, samples):
    village, town, county = as_agent(stack, VILLAGE), as_agent(stack, TOWN), as_agent(stack, COUNTY)
    dispatcher, supervisor = as_role(stack, "dispatcher"), as_role(stack, "supervisor")
    body = submission(a_sample(samples, 0), channel="petition_letter", petitioner={"name": "代办人"})
    r = village.post("intake", "/v1/cases", json=body | {"agent_filing": {"consent": CONSENT}})
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    case = settled_case_file(dispatcher, case_id, timeout=60)
    assert case["status"] == "assigned"

    def at_county() -> dict[str, Any] | None:
        r = county.get("supervision", f"/v1/agent/cases/{case_id}")
        return r.json() if r.status_code == 200 else None

    followed = wait_for(at_county, timeout=60, what="the case to climb to the county agent")
    rep = followed["representation"]
    assert rep["how"] == "intake" and rep["consent"]["method"] == "signed_form"
    assert rep["consent"]["recorded_by"]["subject"] == VILLAGE
    assert rep["agents"] == [VILLAGE, TOWN, COUNTY] and rep["tier"] == "county"
    steps = [(s["kind"], s["from_agent"], s["agent_id"], s["tier"]) for s in rep["steps"]]
    assert steps == [
        ("taken", None, VILLAGE, "village"),
        ("escalated", VILLAGE, TOWN, "town"),
        ("escalated", TOWN, COUNTY, "county"),
    ]
    assert rep["tier_due_at"] is None  # the county is the last tier

    lead = case["lead_unit"]["code"]
    unit = as_role(stack, "unit_handler", lead)
    assert unit.post("supervision", f"/v1/cases/{case_id}/sign", json={}).status_code == 200
    reply = {"result": "resolved", "text": "已解决。"}
    r = unit.post("supervision", f"/v1/cases/{case_id}/reply", json=reply)
    assert r.status_code == 200, r.text

    # the agent follows the case: the petitioner's view and the units' actions
    r = county.get("supervision", f"/v1/agent/cases/{case_id}")
    seen = r.json()["case"]
    assert seen["status"] == "replied" and seen["reply"]["result"] == "resolved"
    assert [a["action"] for a in seen["actions"]][:2] == ["sign", "reply"]
    # and accepts the answer for the petitioner (化解), on the version it read
    r = county.post(
        "supervision",
        f"/v1/agent/cases/{case_id}/rating",
        json={"rating": "satisfied"},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["rating"]["label"] == "满意" and r.json()["rating"]["by"]["subject"] == COUNTY
    assert village.get("supervision", f"/v1/agent/cases/{case_id}").status_code == 200  # it carried it
    for agent in (village, county):  # on both agents' lists, done (化解)
        lines = {c["case_id"]: c for c in agent.get("supervision", "/v1/agent/cases").json()["items"]}
        assert lines[case_id]["open"] is False and lines[case_id]["agent_id"] == COUNTY

    # the agents' inboxes: given the case, the climbs, and copies of the petitioner's notices
    copied = ("reply", case_id)
    wait_for(lambda: copied in inbox_kinds(county), what="a copy of the petitioner's reply to the agent")
    assert ("representation", case_id) in inbox_kinds(village)
    assert inbox_kinds(village).count(("agent_escalation", case_id)) == 1
    assert inbox_kinds(town).count(("agent_escalation", case_id)) == 2  # it came, and it went on
    assert ("reply", case_id) in inbox_kinds(village)  # every agent that carried it is copied

    # the figures: each agent that carried it took it; the county agent resolved it
    r = supervisor.get("supervision", "/v1/agent-figures")
    assert r.status_code == 200, r.text
    rows = {row["agent_id"]: row for row in r.json()["agents"]}
    assert rows[VILLAGE]["taken"] == rows[TOWN]["taken"] == rows[COUNTY]["taken"] == 1
    assert rows[VILLAGE]["resolved"] == rows[TOWN]["resolved"] == 0
    assert rows[COUNTY]["resolved"] == 1 and rows[COUNTY]["satisfaction"] == 1.0
    assert rows[COUNTY]["pending"] == 0 and rows[COUNTY]["average_hours"] is not None
    tiers = {row["tier"]: row for row in r.json()["tiers"]}
    assert [tiers[t]["taken"] for t in ("village", "town", "county")] == [1, 1, 1]
    assert tiers["county"]["resolved"] == 1


def test_an_agent_files_only_with_the_petitioners_consent(stack: Stack, samples):
    village, clerk = as_agent(stack, VILLAGE), as_role(stack, "reception_clerk")
    body = submission(a_sample(samples, 1), channel="petition_letter", petitioner={"name": "申请人"})
    r = village.post("intake", "/v1/cases", json=body)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "agent_filing"]], r.text
    half = {"agent_filing": {"consent": {"method": "signed_form"}}}
    r = village.post("intake", "/v1/cases", json=body | half)
    assert r.status_code == 422 and ["body", "agent_filing", "consent", "given_at"] in [
        e["loc"] for e in r.json()["errors"]
    ], r.text
    r = clerk.post("intake", "/v1/cases", json=body | {"agent_filing": {"consent": CONSENT}})
    assert r.status_code == 422, r.text  # only an agent files as one

    r = clerk.post("intake", "/v1/cases", json=body)
    case_id = r.json()["case_id"]
    dispatcher = as_role(stack, "dispatcher")
    settled_case_file(dispatcher, case_id, timeout=60)
    no_consent = {"agent_id": ELSEWHERE, "how": "dispatcher"}
    r = dispatcher.post("supervision", f"/v1/cases/{case_id}/representation", json=no_consent)
    assert r.status_code == 422 and ["body", "consent"] in [e["loc"] for e in r.json()["errors"]], r.text


def test_an_agent_reaches_only_the_cases_it_represents(stack: Stack, samples):
    clerk, dispatcher = as_role(stack, "reception_clerk"), as_role(stack, "dispatcher")
    body = submission(a_sample(samples, 2), channel="petition_letter", petitioner={"name": "求助人"})
    case_id = clerk.post("intake", "/v1/cases", json=body).json()["case_id"]
    settled_case_file(dispatcher, case_id, timeout=60)
    consent = CONSENT | {"method": "in_person", "given_at": datetime.now(UTC).isoformat()}
    take = {"agent_id": ELSEWHERE, "how": "petitioner_request", "consent": consent}
    r = dispatcher.post("supervision", f"/v1/cases/{case_id}/representation", json=take)
    assert r.status_code == 201, r.text
    assert r.json()["consent"]["recorded_by"]["role"] == "dispatcher"
    again = dispatcher.post("supervision", f"/v1/cases/{case_id}/representation", json=take)
    assert again.status_code == 409

    mine, stranger = as_agent(stack, ELSEWHERE), as_agent(stack, VILLAGE)
    assert mine.get("supervision", f"/v1/agent/cases/{case_id}").status_code == 200
    lines = {c["case_id"]: c for c in mine.get("supervision", "/v1/agent/cases").json()["items"]}
    assert lines[case_id]["open"] is True and lines[case_id]["tier"] == "village"
    assert stranger.get("supervision", f"/v1/agent/cases/{case_id}").status_code == 404
    assert stranger.get("supervision", f"/v1/cases/{case_id}/representation").status_code == 404
    r = stranger.post("supervision", f"/v1/agent/cases/{case_id}/review", json={"reason": "不服答复"})
    assert r.status_code == 404
    listed = stranger.get("supervision", "/v1/agent/cases").json()["items"]
    assert case_id not in [c["case_id"] for c in listed]
    assert stranger.get("supervision", f"/v1/cases/{case_id}").status_code == 403  # not a case reader
    wait_for(lambda: ("representation", case_id) in inbox_kinds(mine), what="the agent told of the case")
    assert ("representation", case_id) not in inbox_kinds(stranger)


def test_the_directory_is_edited_within_ones_own_town_and_kept_with_history(stack: Stack):
    leader = as_role(stack, "unit_leader", "990102001-GOV")  # 城关街道's leader
    reader = as_role(stack, "reception_clerk")

    page = reader.get("supervision", "/v1/agents", params={"tier": "town", "limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = reader.get("supervision", "/v1/agents", params={"tier": "town", "cursor": page["next_cursor"]})
    ids = [a["agent_id"] for a in page["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) >= 6 and all(i.startswith("AG-T-") for i in ids)
    town = reader.get("supervision", "/v1/agents", params={"area": "990102001"}).json()["items"]
    assert {a["agent_id"] for a in town} == {VILLAGE, "AG-V-990102001002", TOWN}

    # another town's agent: refused, and unchanged
    r = leader.client.patch(leader.url("supervision", "/v1/agents/AG-T-990102002"), json={"name": "改名"})
    assert r.status_code == 404, r.text
    assert reader.get("supervision", "/v1/agents/AG-T-990102002").json()["name"] == "赵站长"

    got = reader.get("supervision", f"/v1/agents/{VILLAGE}")
    etag = got.headers["ETag"]
    change = {"channels": [{"kind": "phone", "value": "0471-5559999"}]}
    url = leader.url("supervision", f"/v1/agents/{VILLAGE}")
    r = leader.client.patch(url, json=change, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["channels"] == change["channels"] and r.headers["ETag"] != etag
    assert leader.client.patch(url, json={"name": "又改"}, headers={"If-Match": etag}).status_code == 412
    moved = leader.client.patch(url, json={"area": "990102002001"}, headers={"If-Match": r.headers["ETag"]})
    assert moved.status_code == 403  # not out of its own town
    wrong_tier = leader.client.patch(url, json={"tier": "town"}, headers={"If-Match": r.headers["ETag"]})
    assert wrong_tier.status_code == 422  # a village's area is no town's

    history = leader.get("supervision", f"/v1/agents/{VILLAGE}/history").json()["items"]
    assert [h["revision"] for h in history] == [1, 2]
    assert history[0]["before"] is None and history[0]["by"]["role"] == "seed"
    assert history[1]["before"]["channels"] == [
        {"kind": "phone", "value": "0471-5550101"},
        {"kind": "wechat", "value": "xf-daiban-0101"},
    ]
    assert history[1]["after"]["channels"] == change["channels"]
    assert history[1]["by"]["role"] == "unit_leader" and history[1]["by"]["unit"] == "990102001-GOV"
