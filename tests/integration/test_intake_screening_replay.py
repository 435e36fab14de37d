"""What-if replay of the screening rules, intake in process on the real nats-server and the embedded
MongoDB server: cases registered over HTTP, replayed with candidate rules that add a rule and raise the
minimum length (exactly the three cases they must change, both screenings side by side, a confidential
report's evidence left out, the clear text read where the masked one would mislead, the store untouched);
a candidate with a problem refused on its file; a non-admin refused; activation recording the report."""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch_common.paths import DATA_DIR
from tests.helpers import RELAY_FIELDS_OUT
from tests.intake_support import IntakeHarness, start_intake

pytestmark = pytest.mark.integration

RULES = DATA_DIR / "intake" / "screening_rules.json"
KB = DATA_DIR / "intake" / "knowledge_base.json"
PHONE = "13812345678"
DANCE = "小区广场舞噪音太大，每天晚上吵到十点多，老人孩子都休息不好。"
TEXTS = {
    "plain": "村口路灯坏了一个月没人修，晚上出行很不方便。",
    # 14 meaningful characters in clear, 10 once the phone is masked (138****5678): the candidate's
    # minimum of 12 leaves it alone only if the replay reads the clear text
    "phone": f"请回电{PHONE}",
    "short": "路灯坏了没人修",  # 7: accepted now, too short for the candidate
    "dance": DANCE,
    "report": "村支书收了红包，还纵容广场舞噪音扰民到深夜。",  # 检举控告: confidential
    "review": "对处理意见不服，申请复查，请尽快安排。",  # manual by the rules, then screened by hand
}


def candidate_rules() -> str:
    rules = json.loads(RULES.read_text(encoding="utf-8"))
    rules["version"] = "2026.2"
    rules["min_text_chars"] = 12
    dance = {
        "id": "N-DANCE",
        "outcome": "not_accepted",
        "reason": "广场舞噪音由社区调解。",
        "phrases": ["广场舞…噪音"],
    }
    rules["rules"].insert(0, dance)
    return json.dumps(rules, ensure_ascii=False, indent=1)


@pytest.fixture
async def harness(nats_url, mongodb_url, db_prefix, run_dir, tmp_path) -> AsyncIterator[IntakeHarness]:
    rules, kb = tmp_path / "screening_rules.json", tmp_path / "knowledge_base.json"
    shutil.copy(RULES, rules)
    shutil.copy(KB, kb)
    h = await start_intake(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        db_prefix=db_prefix,
        run_dir=run_dir,
        screening_rules_file=rules,
        knowledge_base_file=kb,
    )
    yield h
    await h.intake.runtime.stop()


async def seed(harness: IntakeHarness) -> tuple[dict[str, str], dict[str, str]]:
    """One case before the period (it would change), then the cases of the period; the period."""
    async with harness.client("reception_clerk") as clerk:

        async def submit(text: str) -> str:
            r = await clerk.post("/v1/cases", json={"channel": "hotline_12345", "text": text})
            assert r.status_code == 201, r.text
            return str(r.json()["case_id"])

        before = await submit(DANCE)
        await asyncio.sleep(0.05)
        start = datetime.now(UTC)
        await asyncio.sleep(0.05)
        ids = {name: await submit(text) for name, text in TEXTS.items()}
        ids["before"] = before
        screened = await clerk.post(
            f"/v1/cases/{ids['review']}/screening", json={"outcome": "accepted", "reason": "受理"}
        )
        assert screened.status_code == 200, screened.text
    end = datetime.now(UTC) + timedelta(seconds=1)
    return ids, {"from": start.isoformat(), "to": end.isoformat()}


async def replay(harness: IntakeHarness, period: dict[str, str], files: dict[str, str]) -> dict[str, Any]:
    async with harness.client("admin") as admin:
        r = await admin.post("/v1/admin/screening-replays", json={**period, "rules": {"files": files}})
        assert r.status_code == 202, r.text
        for _ in range(600):
            job = (await admin.get(r.headers["location"])).json()
            if job["status"] != "running":
                return dict(job)
            await asyncio.sleep(0.05)
    raise AssertionError("the replay did not finish")


async def differences(harness: IntakeHarness, replay_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    async with harness.client("admin") as admin:
        while True:
            params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            r = await admin.get(f"/v1/admin/screening-replays/{replay_id}/differences", params=params)
            assert r.status_code == 200, r.text
            items += r.json()["items"]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                return items


async def all_cases(harness: IntakeHarness) -> list[dict[str, Any]]:
    return await harness.intake.cases.cases.find({}, RELAY_FIELDS_OUT).sort("_id", 1).to_list()


async def test_a_replay_reports_exactly_the_cases_the_candidate_rules_change(harness: IntakeHarness) -> None:
    ids, period = await seed(harness)
    # the plain case as if screened under other rules: the baseline re-decided differs (drifted)
    await harness.intake.cases.cases.update_one(
        {"_id": ids["plain"]}, {"$set": {"screening.outcome": "manual"}}
    )
    await asyncio.sleep(0.5)  # the relay marks the outbox of the cases it published
    stored_before = await all_cases(harness)

    job = await replay(harness, period, {"screening_rules.json": candidate_rules()})

    assert job["status"] == "done", job
    assert job["candidate_version"] == "2026.2+kb.2026.1" and job["baseline_version"] == "2026.1+kb.2026.1"
    assert job["progress"] == {"done": 6, "total": 6, "estimated_total": None} and job["differences"] == 3
    assert job["result"] == {
        "cases": 6,
        "changed": 3,
        "drifted": 1,
        "changed_parts": {"outcome": 3, "reason": 3, "rule_id": 2},
        "outcomes": [
            {"before": "accepted", "after": "accepted", "cases": 2},
            {"before": "accepted", "after": "manual", "cases": 1},
            {"before": "accepted", "after": "not_accepted", "cases": 2},
            {"before": "manual", "after": "manual", "cases": 1},
        ],
        "before": {"accepted": 5, "manual": 1},
        "after": {"accepted": 2, "manual": 2, "not_accepted": 2},
    }
    found = await differences(harness, job["id"])
    assert [d["case_id"] for d in found] == [ids["short"], ids["dance"], ids["report"]]  # in order of receipt
    short, dance, report = found
    assert short["changed"] == ["outcome", "reason"]
    assert (short["before"]["outcome"], short["after"]["outcome"]) == ("accepted", "manual")
    assert short["after"]["evidence"] == ["7 meaningful characters, fewer than 12"]
    assert dance["changed"] == ["outcome", "rule_id", "reason"] and not dance["confidential"]
    assert (dance["before"]["rule_id"], dance["after"]["rule_id"]) == (None, "N-DANCE")
    assert dance["after"]["reason"] == "广场舞噪音由社区调解。"
    assert dance["after"]["evidence"][0] == "N-DANCE: 广场舞…噪音"
    assert (
        report["confidential"]
        and report["before"]["confidential"]
        and report["after"]["outcome"] == "not_accepted"
    )
    assert report["before"]["evidence"] == [] and report["after"]["evidence"] == []
    assert {d["stored_outcome"] for d in found} == {"accepted"}

    assert await all_cases(harness) == stored_before  # nothing is changed by a replay
    kept = [await harness.intake.replays.docs.find_one({"_id": job["id"]}), *found]
    assert PHONE not in json.dumps(kept, ensure_ascii=False, default=str)


async def test_a_bad_candidate_is_refused_on_its_file_and_only_an_admin_replays(
    harness: IntakeHarness,
) -> None:
    period = {"from": "2026-03-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"}
    rules = json.loads(candidate_rules())
    del rules["rules"][0]["reason"]
    async with harness.client("admin") as admin:
        files = {"screening_rules.json": json.dumps(rules), "knowledge_base.json": "{not json"}
        r = await admin.post("/v1/admin/screening-replays", json={**period, "rules": {"files": files}})
        assert r.status_code == 422, r.text
        locs = [e["loc"] for e in r.json()["errors"]]
        assert ["body", "rules", "files", "screening_rules.json"] in locs
        assert ["body", "rules", "files", "knowledge_base.json"] in locs
        long = {"from": "2025-01-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"}
        assert (await admin.post("/v1/admin/screening-replays", json=long)).status_code == 422
        unknown = {**period, "rules": {"files": {"units.json": "[]"}}}
        assert (await admin.post("/v1/admin/screening-replays", json=unknown)).status_code == 422
    assert await harness.intake.replays.docs.count_documents({}) == 0  # no job started
    kb = json.loads(KB.read_text(encoding="utf-8"))
    kb["description"] = "知识库" * 100_000  # 900 KB of UTF-8: more than the 256 KiB other bodies may have
    big = {**period, "rules": {"files": {"knowledge_base.json": json.dumps(kb, ensure_ascii=False)}}}
    async with harness.client("admin") as admin:
        assert (await admin.post("/v1/admin/screening-replays", json=big)).status_code == 202
    async with harness.client("dispatcher") as dispatcher:
        r = await dispatcher.post("/v1/admin/screening-replays", json=period)
        assert r.status_code == 403, r.text


async def test_activation_puts_the_replayed_rules_in_force_with_their_report(
    harness: IntakeHarness, tmp_path: Path
) -> None:
    _, period = await seed(harness)
    candidate = candidate_rules()
    job = await replay(harness, period, {"screening_rules.json": candidate})
    assert job["status"] == "done", job
    async with harness.client("admin") as admin:
        activation = {"replay_id": job["id"]}
        r = await admin.post("/v1/admin/screening-rules/reload", json=activation)
        assert r.status_code == 409, r.text  # the rules on disk are still the old ones
        assert harness.intake.screening.current.rules.version == "2026.1+kb.2026.1"
        (tmp_path / "screening_rules.json").write_text(candidate, encoding="utf-8")
        r = await admin.post("/v1/admin/screening-rules/reload", json=activation)
        assert r.status_code == 200, r.text
        answer = r.json()
    assert answer["version"] == "2026.2+kb.2026.1" and answer["digest"] == job["candidate_digest"]
    approval = answer["approval"]
    assert approval["replay_id"] == job["id"] and approval["replaced_digest"] == job["baseline_digest"]
    assert approval["report"] == job["result"] and approval["approved_by"]
    assert await harness.intake.approvals.count_documents({"rules_digest": job["candidate_digest"]}) == 1
