"""Proxy agents on the real (embedded) MongoDB server: the directory seeded once from the county
package, the climb between tiers by the policy's hours, and the figures on seeded cases whose answers
are known."""

from datetime import timedelta

import pytest

from dispatch_common import paging, store, subjects
from dispatch_common.county import unit_directory
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.supervision.adapters.agents import AgentDirectory
from services.supervision.adapters.repository import CaseFiles
from services.supervision.agent_figures import agent_report
from services.supervision.domain.agents import TierPolicy, load_agents
from services.supervision.representation import Representations

pytestmark = pytest.mark.integration

V1, V2, T1, C1 = "AG-V-990102001001", "AG-V-990102001002", "AG-T-990102001", "AG-C-990102-1"
CONSENT = {"method": "signed_form", "given_at": "2026-12-01T01:00:00+00:00"}
BY = {"subject": "dispatcher-1", "role": "dispatcher", "unit": None}


@pytest.fixture
async def db(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-agents")
    yield client[f"{db_prefix}supervision"]
    await client.drop_database(f"{db_prefix}supervision")
    await client.close()


@pytest.fixture
async def world(db, clock):
    directory = AgentDirectory(db)
    await directory.ensure_indexes()
    agents = load_agents(DEFAULT_COUNTY_DIR, set(unit_directory(DEFAULT_COUNTY_DIR)))
    assert await directory.seed(agents, clock.now()) == len(agents)
    reps = Representations(db, directory, TierPolicy.load(DATA_DIR / "policy" / "agent_tiers.json"))
    await reps.ensure_indexes()
    files = CaseFiles(db)
    return directory, reps, files


async def take(reps: Representations, directory: AgentDirectory, case_id: str, agent: str, clock) -> None:
    case = {"_id": case_id, "case_no": f"990102-2026-{case_id[-6:]}"}
    await reps.take_up(
        case, await directory.get(agent), how="dispatcher", consent=CONSENT, by=BY, clock=clock
    )


async def case_file(files: CaseFiles, case_id: str, status: str, rating: str | None = None, at=None) -> None:
    doc = {"_id": case_id, "case_no": case_id, "status": status, "version": 1}
    if rating:
        doc["rating"] = {"rating": rating, "label": rating, "at": at}
    await files.files.replace_one({"_id": case_id}, doc, upsert=True)


async def test_the_package_seeds_the_directory_once(world, clock):
    directory, _, _ = world
    agents = load_agents(DEFAULT_COUNTY_DIR, set(unit_directory(DEFAULT_COUNTY_DIR)))
    assert await directory.seed(agents, clock.now()) == 0  # a restart adds nothing, overwrites nothing
    assert (await directory.get(V1))["revision"] == 1
    assert await directory.history.count_documents({}) == len(agents)


async def test_an_unresolved_case_climbs_village_town_county_by_the_policys_hours(world, clock):
    directory, reps, files = world
    await take(reps, directory, "case-000001", V1, clock)
    await case_file(files, "case-000001", "in_progress")
    start = clock.now()

    clock.set(start + timedelta(hours=71))
    assert await reps.escalate_due(files=files, clock=clock) == 0  # 72 hours at the village
    clock.set(start + timedelta(hours=72, minutes=1))
    assert await reps.escalate_due(files=files, clock=clock) == 1
    doc = await reps.of_case("case-000001")
    assert (doc["agent_id"], doc["tier"], doc["agents"]) == (T1, "town", [V1, T1])
    owed = [e["event"] for e in doc["outbox"]]
    assert owed[-1]["type"] == subjects.CASE_AGENT_ESCALATED
    assert (owed[-1]["data"]["from_agent"], owed[-1]["data"]["to_agent"]) == (V1, T1)

    clock.set(start + timedelta(hours=72 + 239))
    assert await reps.escalate_due(files=files, clock=clock) == 0  # 240 hours at the town
    clock.set(start + timedelta(hours=72 + 241))
    assert await reps.escalate_due(files=files, clock=clock) == 1
    doc = await reps.of_case("case-000001")
    assert (doc["agent_id"], doc["tier"], doc["tier_due_ts"]) == (C1, "county", None)  # the last tier

    clock.set(start + timedelta(days=400))
    assert await reps.escalate_due(files=files, clock=clock) == 0
    steps = [(s["kind"], s["agent_id"]) for s in await reps.history("case-000001")]
    assert steps == [("taken", V1), ("escalated", T1), ("escalated", C1)]
    for agent in (V1, T1, C1):  # every agent that carried it follows it
        assert await reps.represents("case-000001", agent)
        listed = await paging.page(reps.steps, reps.carried_by(agent), sort="at_ts", limit=10)
        assert [step["case_id"] for step in listed.items] == ["case-000001"]
    assert not await reps.represents("case-000001", V2)
    assert (await paging.page(reps.steps, reps.carried_by(V2), sort="at_ts", limit=10)).items == []


async def test_a_resolved_case_stays_with_its_agent(world, clock):
    directory, reps, files = world
    await take(reps, directory, "case-000002", V1, clock)
    await case_file(files, "case-000002", "followed_up", "basically_satisfied", clock.now())
    clock.advance(timedelta(hours=73))
    assert await reps.escalate_due(files=files, clock=clock) == 0
    doc = await reps.of_case("case-000002")
    assert (doc["agent_id"], doc["tier_due_ts"], doc["open"]) == (V1, None, False)


async def test_the_figures_of_seeded_cases(world, clock):
    directory, reps, files = world
    start = clock.now()
    # A: V1 takes it, it climbs to T1, which sees it accepted (满意) 10 hours after it was taken up
    await take(reps, directory, "case-00000a", V1, clock)
    await case_file(files, "case-00000a", "in_progress")
    clock.set(start + timedelta(hours=73))
    assert await reps.escalate_due(files=files, clock=clock) == 1
    await case_file(files, "case-00000a", "followed_up", "satisfied", start + timedelta(hours=10))
    clock.set(start)
    # B: V1's, still in handling
    await take(reps, directory, "case-00000b", V1, clock)
    await case_file(files, "case-00000b", "in_progress")
    # C: V2's, closed with 不满意 (rated, not resolved, not pending)
    await take(reps, directory, "case-00000c", V2, clock)
    await case_file(files, "case-00000c", "closed", "dissatisfied", start + timedelta(hours=5))
    # D: C1's from the start, accepted (基本满意) after 20 hours
    await take(reps, directory, "case-00000d", C1, clock)
    await case_file(files, "case-00000d", "followed_up", "basically_satisfied", start + timedelta(hours=20))

    report = await agent_report(reps, files)
    rows = {r["agent_id"]: r for r in report["agents"]}
    pick = ("taken", "resolved", "pending", "average_hours", "rated", "satisfied", "satisfaction")
    assert [rows[V1][k] for k in pick] == [2, 0, 1, None, 0, 0, None]
    assert [rows[T1][k] for k in pick] == [1, 1, 0, 10.0, 1, 1, 1.0]
    assert [rows[V2][k] for k in pick] == [1, 0, 0, None, 1, 0, 0.0]
    assert [rows[C1][k] for k in pick] == [1, 1, 0, 20.0, 1, 1, 1.0]
    tiers = {r["tier"]: r for r in report["tiers"]}
    assert [tiers["village"][k] for k in pick] == [3, 0, 1, None, 1, 0, 0.0]
    assert [tiers["town"][k] for k in pick] == [1, 1, 0, 10.0, 1, 1, 1.0]
    assert [tiers["county"][k] for k in pick] == [1, 1, 0, 20.0, 1, 1, 1.0]

    town = await agent_report(reps, files, area="990102001")
    assert {r["agent_id"] for r in town["agents"]} == {V1, V2, T1}
    later = await agent_report(reps, files, since=start + timedelta(hours=1))
    assert sum(r["taken"] for r in later["tiers"]) == 0  # every case was taken up at `start`
