"""People correct routing, on the real (embedded) MongoDB server: override, return, dispute, decision.

Each test reads what it expects from the county package and the sample cases, so a different county
package changes the data, not the tests.
"""

import json
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from dispatch_common import store, subjects
from dispatch_common.auth import Principal, Role, granted
from dispatch_common.envelope import make_event
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from dispatch_common.workdays import WorkingCalendar
from services.routing import corrections, disputes, handlers, overrides, returns
from services.routing.container import Routing
from services.routing.domain.events import CaseScreenedView
from services.routing.domain.models import RouteRequest
from services.routing.engine import RoutingEngine

pytestmark = pytest.mark.integration

ENGINE = RoutingEngine.from_dir(DEFAULT_COUNTY_DIR)
SAMPLES = {
    case["id"]: case
    for case in map(json.loads, (DEFAULT_COUNTY_DIR / "sample_cases.jsonl").read_text().splitlines())
}
OVERRIDE = "POST /v1/routes/{case_id}/override"
DECIDE = "POST /v1/disputes/{case_id}/decision"
# As the authorization table admits them (data/policy/authorization.yaml): with scope and capabilities.
DISPATCHER = granted(Principal(subject="d-1", role=Role.DISPATCHER), "routing", OVERRIDE)
SUPERVISOR = granted(Principal(subject="s-1", role=Role.SUPERVISOR), "routing", DECIDE)
POLICY = returns.ReturnPolicy(
    working_days=5, calendar=WorkingCalendar.load(), timezone=ZoneInfo("Asia/Shanghai")
)


def unit_of(code: str, role: Role = Role.UNIT_HANDLER) -> Principal:
    unit = Principal(subject=f"u-{code}", role=role, unit=code)
    return granted(unit, "routing", "POST /v1/routes/{case_id}/return")


@pytest.fixture
async def routes(mongodb_url, db_prefix):
    client = store.connect(mongodb_url, app_name="test-routing-corrections")
    col = client[f"{db_prefix}routing"]["routes"]
    yield col
    await client.drop_database(f"{db_prefix}routing")
    await client.close()


async def route(routes, clock, sample_id: str, case_id: str | None = None, **overrides) -> dict:
    """Route a sample case as the consumer would, and return the stored route."""
    case = {k: v for k, v in SAMPLES[sample_id].items() if k not in ("id", "expect")} | overrides
    view = CaseScreenedView(
        case_id=case_id or f"case-{sample_id}", case_no=f"990102-2026-{sample_id}", outcome="accepted", **case
    )
    event = make_event(
        type=subjects.CASE_SCREENED, source="/test", subject=view.case_id, data={}, clock=clock
    )
    await handlers.route_case(event, view, routes=routes, engine=ENGINE, clock=clock, consumer="test")
    doc = await routes.find_one({"_id": view.case_id})
    assert doc is not None
    return doc


async def override(routes, clock, case_id: str, change: corrections.Correction, *, caller: Principal) -> dict:
    return await overrides.override_route(
        case_id, change, caller=caller, routes=routes, engine=ENGINE, clock=clock
    )


async def give_back(routes, clock, case_id: str, reason: str, *, caller: Principal) -> dict:
    """A unit's return (退单) under the 5-working-day policy."""
    return await returns.return_route(
        case_id, reason, caller=caller, routes=routes, engine=ENGINE, clock=clock, policy=POLICY
    )


async def decide(routes, clock, case_id: str, change: corrections.Correction, *, caller: Principal) -> dict:
    return await disputes.decide_dispute(
        case_id, change, caller=caller, routes=routes, engine=ENGINE, clock=clock
    )


def owed(doc: dict, event_type: str) -> list[dict]:
    """The events of a type the route owes (in its outbox)."""
    return [e["event"]["data"] for e in doc["outbox"] if e["event"]["type"] == event_type]


def other_competent_unit(doc: dict) -> str:
    """A unit, other than the current lead, to name in a correction."""
    lead = doc["decision"]["lead_unit"]["code"]
    return next(u.code for u in ENGINE.package.units if u.code != lead and u.categories)


async def test_a_route_is_stored_once_with_its_question_and_revision_one(routes, clock):
    doc = await route(routes, clock, "S01")
    again = await route(routes, clock, "S01")
    assert doc["revision"] == again["revision"] == 1 and doc["status"] == "routed"
    assert doc["request"]["text"] == SAMPLES["S01"]["text"]
    assert len(owed(again, subjects.CASE_ROUTED)) == 1


async def test_a_dispatcher_overrides_with_a_reason_and_the_change_is_an_event_and_a_label(routes, clock):
    doc = await route(routes, clock, "S01")
    new_lead = other_competent_unit(doc)
    category = next(c for c in ENGINE.package.taxonomy.first if c != doc["decision"]["category"]["code"])
    clock.advance(timedelta(hours=1))
    change = corrections.Correction(reason="属于该单位职责", lead_unit=new_lead, category=category)
    saved = await override(routes, clock, doc["_id"], change, caller=DISPATCHER)
    assert saved["revision"] == 2
    assert saved["decision"]["lead_unit"]["code"] == new_lead
    assert saved["decision"]["category"]["code"] == category and saved["decision"]["queue"] == "auto"
    assert saved["label"]["code"] == category and saved["labelled"] is True
    [correction] = saved["corrections"]
    assert correction["kind"] == "override" and correction["by"]["subject"] == "d-1"
    assert correction["previous_lead_unit"] == doc["decision"]["lead_unit"]["code"]
    [event] = owed(saved, subjects.CASE_REROUTED)
    assert event["cause"] == "override" and event["revision"] == 2 and event["reason"] == "属于该单位职责"
    assert event["previous_lead_unit"]["code"] == doc["decision"]["lead_unit"]["code"]
    assert any("属于该单位职责" in line for line in saved["decision"]["explanation"])


async def test_an_override_naming_unknown_codes_is_refused_field_by_field(routes, clock):
    doc = await route(routes, clock, "S01")
    change = corrections.Correction(
        reason="改派", lead_unit="nope", category="00", tier="urgentest", area="990102", assisting_units=["x"]
    )
    with pytest.raises(corrections.InvalidCorrection) as refused:
        await override(routes, clock, doc["_id"], change, caller=DISPATCHER)
    fields = {field for field, _ in refused.value.errors}
    assert fields == {"lead_unit", "category", "tier", "area", "assisting_units.0"}
    assert (await routes.find_one({"_id": doc["_id"]}))["revision"] == 1  # nothing changed


async def test_only_dispatchers_and_supervisors_override(routes, clock):
    doc = await route(routes, clock, "S01")
    lead = doc["decision"]["lead_unit"]["code"]
    with pytest.raises(corrections.NotEntitled):  # a unit, with its unit's scope
        await override(routes, clock, doc["_id"], corrections.Correction(reason="改派"), caller=unit_of(lead))
    for role in (Role.RECEPTION_CLERK, Role.UNIT_HANDLER, Role.COUNTY_LEADER):  # the table admits none
        with pytest.raises(PermissionError):
            granted(Principal(subject="c", role=role), "routing", OVERRIDE)


async def test_a_case_in_the_manual_queue_is_placed_by_a_dispatcher(routes, clock):
    no_location = next(i for i, c in SAMPLES.items() if "manual" in c["expect"]["flags"])
    doc = await route(routes, clock, no_location)
    assert doc["decision"]["queue"] == "manual" and doc["decision"]["jurisdiction"]["town"] is None
    town = next(a.code for a in ENGINE.package.areas.values() if a.level == "town")
    saved = await override(
        routes,
        clock,
        doc["_id"],
        corrections.Correction(reason="来电人补充了地址", area=town),
        caller=DISPATCHER,
    )
    decision = saved["decision"]
    assert decision["jurisdiction"] == {
        "town": town,
        "village": None,
        "grid": None,
        "source": "person",
        "matched": ENGINE.package.area_name(town),
    }
    assert decision["queue"] == "auto" and decision["lead_unit"] is not None
    assert ENGINE.package.town_of(
        next(u.jurisdiction for u in ENGINE.package.units if u.code == decision["lead_unit"]["code"])
    ) in (town, None)


async def test_a_return_reroutes_without_the_unit_and_a_second_return_goes_to_the_conference(routes, clock):
    doc = await route(routes, clock, "S01")
    first_lead = doc["decision"]["lead_unit"]["code"]
    clock.advance(timedelta(days=2))
    saved = await give_back(routes, clock, doc["_id"], "不属于本单位职责", caller=unit_of(first_lead))
    second_lead = saved["decision"]["lead_unit"]["code"]
    assert second_lead != first_lead and saved["excluded_units"] == [first_lead]
    assert saved["revision"] == 2 and saved["status"] == "routed" and "labelled" in saved
    assert saved["labelled"] is False  # nobody judged the category
    [event] = owed(saved, subjects.CASE_REROUTED)
    assert event["cause"] == "return" and event["lead_unit"]["code"] == second_lead

    clock.advance(timedelta(days=1))
    disputed = await give_back(routes, clock, doc["_id"], "也不属于我们", caller=unit_of(second_lead))
    assert disputed["status"] == "disputed" and len(disputed["returns"]) == 2
    [dispute] = owed(disputed, subjects.CASE_ROUTE_DISPUTED)
    assert [r["unit"] for r in dispute["returns"]] == [first_lead, second_lead]
    assert dispute["lead_unit"]["code"] == second_lead

    with pytest.raises(corrections.RouteConflict, match="joint conference"):
        await override(routes, clock, doc["_id"], corrections.Correction(reason="改派"), caller=DISPATCHER)
    decided = await decide(
        routes,
        clock,
        doc["_id"],
        corrections.Correction(reason="联席会议决定由原单位承办", lead_unit=first_lead),
        caller=SUPERVISOR,
    )
    assert decided["status"] == "routed" and decided["final"] is True
    assert decided["decision"]["lead_unit"]["code"] == first_lead  # the conference may name a returning unit
    assert [c["kind"] for c in decided["corrections"]] == ["return", "dispute", "conference"]
    with pytest.raises(corrections.RouteConflict, match="joint conference decided"):
        await give_back(routes, clock, doc["_id"], "再退", caller=unit_of(first_lead))


async def test_a_return_after_five_working_days_is_refused(routes, clock):
    doc = await route(routes, clock, "S01")
    lead = doc["decision"]["lead_unit"]["code"]
    clock.advance(timedelta(days=8))  # the limit is the end of the 5th working day after: next Monday
    with pytest.raises(corrections.RouteConflict, match="5 working days"):
        await give_back(routes, clock, doc["_id"], "不归我们管", caller=unit_of(lead))
    clock.advance(timedelta(days=-1))  # next Monday: the last day a return is possible
    saved = await give_back(routes, clock, doc["_id"], "不归我们管", caller=unit_of(lead))
    assert saved["revision"] == 2


async def test_an_assisting_unit_refusing_its_share_is_a_dispute_and_strangers_may_not_return(routes, clock):
    flagged = next(  # a case with an assisting unit, such as a mediation committee or police station
        i
        for i, c in SAMPLES.items()
        if ENGINE.decide(
            RouteRequest(**{k: v for k, v in c.items() if k not in ("id", "expect")})
        ).assisting_units
    )
    doc = await route(routes, clock, flagged)
    assisting = doc["decision"]["assisting_units"][0]["code"]
    stranger = next(
        u.code
        for u in ENGINE.package.units
        if u.code not in {assisting, doc["decision"]["lead_unit"]["code"]}
    )
    with pytest.raises(corrections.NotEntitled):
        await give_back(routes, clock, doc["_id"], "与我无关", caller=unit_of(stranger))
    with pytest.raises(corrections.NotEntitled):  # a dispatcher overrides; it does not return
        await give_back(routes, clock, doc["_id"], "退回", caller=DISPATCHER)
    disputed = await give_back(routes, clock, doc["_id"], "不应由我们协办", caller=unit_of(assisting))
    assert disputed["status"] == "disputed" and "assisting unit" in disputed["dispute_reason"]


async def test_the_conference_only_decides_disputed_cases_and_only_its_members_do(routes, clock):
    doc = await route(routes, clock, "S01")
    lead = doc["decision"]["lead_unit"]["code"]
    decision = corrections.Correction(reason="决定", lead_unit=lead)
    with pytest.raises(corrections.RouteConflict, match="not in the joint conference queue"):
        await decide(routes, clock, doc["_id"], decision, caller=SUPERVISOR)
    with pytest.raises(PermissionError):  # the table admits only the conference's members
        granted(Principal(subject="d-1", role=Role.DISPATCHER), "routing", DECIDE)
    with pytest.raises(corrections.RouteNotFound):
        await override(routes, clock, "missing", decision, caller=DISPATCHER)


async def test_after_the_conference_only_its_members_change_the_route(routes, clock):
    doc = await route(routes, clock, "S01")
    lead = doc["decision"]["lead_unit"]["code"]
    first = unit_of(lead)
    await give_back(routes, clock, doc["_id"], "不归我们", caller=first)
    second = (await routes.find_one({"_id": doc["_id"]}))["decision"]["lead_unit"]["code"]
    await give_back(routes, clock, doc["_id"], "也不归我们", caller=unit_of(second))
    await decide(
        routes, clock, doc["_id"], corrections.Correction(reason="决定", lead_unit=lead), caller=SUPERVISOR
    )
    with pytest.raises(corrections.RouteConflict, match="only its members"):
        await override(
            routes,
            clock,
            doc["_id"],
            corrections.Correction(reason="改派", lead_unit=second),
            caller=DISPATCHER,
        )
    saved = await override(
        routes,
        clock,
        doc["_id"],
        corrections.Correction(reason="联席会议复议", lead_unit=second),
        caller=SUPERVISOR,
    )
    assert saved["decision"]["lead_unit"]["code"] == second
    assert saved["labelled"] is False  # nobody set the category: it is no example for the classifier


async def test_a_case_in_the_manual_queue_cannot_be_returned_and_says_so_in_its_explanation(routes, clock):
    no_location = next(i for i, c in SAMPLES.items() if "manual" in c["expect"]["flags"])
    doc = await route(routes, clock, no_location)
    assert doc["assigned_at"] is None
    proposed = doc["decision"]["lead_unit"]
    if proposed is not None:  # routing may propose a unit; it is not assigned anything
        with pytest.raises(corrections.RouteConflict, match="manual queue"):
            await give_back(routes, clock, doc["_id"], "不归我们", caller=unit_of(proposed["code"]))
    town = next(a.code for a in ENGINE.package.areas.values() if a.level == "town")
    saved = await override(
        routes, clock, doc["_id"], corrections.Correction(reason="补充地址", area=town), caller=DISPATCHER
    )
    queue_lines = [line for line in saved["decision"]["explanation"] if line.startswith("Queue ")]
    assert queue_lines == [f"Queue auto: placed by dispatcher {DISPATCHER.subject}."]


async def test_a_confidential_report_stays_with_the_units_that_take_reports(routes, clock):
    """S03 is a dispute in a village (mediation flag, the village's committee): as a confidential report
    nothing of its place or text counts, and no person's correction gives it to the place."""
    taker = next(u for u in ENGINE.package.units if u.type in ENGINE.package.rules.confidential.unit_types)
    local = [u.code for u in ENGINE.package.units if u.jurisdiction != ENGINE.package.county_code]
    doc = await route(routes, clock, "S03", confidential=True)
    decision = doc["decision"]
    assert decision["confidential"] and decision["lead_unit"]["code"] == taker.code
    assert (
        decision["flags"] == []
        and decision["assisting_units"] == []
        and decision["jurisdiction"]["town"] is None
    )
    assert owed(doc, subjects.CASE_ROUTED)[0]["confidential"] is True

    for change in (
        corrections.Correction(reason="给镇里办", lead_unit=local[0]),
        corrections.Correction(reason="协办", assisting_units=[local[1]]),
        corrections.Correction(reason="属地", area=ENGINE.package.areas_at("town")[0].code),
    ):
        with pytest.raises(corrections.InvalidCorrection):
            await override(routes, clock, doc["_id"], change, caller=SUPERVISOR)
    labelled = await override(
        routes, clock, doc["_id"], corrections.Correction(reason="分类", category="16"), caller=SUPERVISOR
    )
    assert labelled["labelled"] is False  # its text is a placeholder: never an example to learn from

    # the only taker returns it: no unit of the place is next, the joint conference decides
    returned = await give_back(routes, clock, doc["_id"], "不属于本单位", caller=unit_of(taker.code))
    assert returned["status"] == "disputed"
    with pytest.raises(corrections.InvalidCorrection):
        await decide(
            routes,
            clock,
            doc["_id"],
            corrections.Correction(reason="x", lead_unit=local[0]),
            caller=SUPERVISOR,
        )
    decided = await decide(
        routes,
        clock,
        doc["_id"],
        corrections.Correction(reason="仍由纪检监察办理", lead_unit=taker.code),
        caller=SUPERVISOR,
    )
    assert decided["decision"]["lead_unit"]["code"] == taker.code and decided["decision"]["confidential"]


async def test_an_address_people_placed_twice_places_the_next_case_from_it(routes, clock):
    """Two dispatchers place cases from an address the package does not know: the third is placed."""
    no_location = next(i for i, c in SAMPLES.items() if "manual" in c["expect"]["flags"])
    village = next(a for a in ENGINE.package.areas.values() if a.level == "village")
    unknown = "城北农贸批发市场"  # in no gazetteer: an invented name
    assert ENGINE.locator.locate_address(unknown) is None
    for n, detail in enumerate(("5号", "12号楼")):
        doc = await route(routes, clock, no_location, case_id=f"case-place-{n}", address=unknown + detail)
        assert doc["decision"]["queue"] == "manual"
        saved = await override(
            routes,
            clock,
            doc["_id"],
            corrections.Correction(reason="按来电人描述", area=village.code),
            caller=DISPATCHER,
        )
        assert saved["place_labelled"] is True and saved["place_label"]["area"] == village.code

    examples = await Routing.place_examples(SimpleNamespace(engine=ENGINE, routes=routes))
    assert {(e.address, e.area) for e in examples} == {
        (unknown + "5号", village.code),
        (unknown + "12号楼", village.code),
    }
    learned = ENGINE.learn_places(examples)
    case = {k: v for k, v in SAMPLES[no_location].items() if k not in ("id", "expect")}
    decision = learned.decide(RouteRequest(**{**case, "address": unknown + "东门"}))
    assert decision.jurisdiction.village == village.code and decision.jurisdiction.source == "learned"
    assert any("people placed before" in line for line in decision.explanation)
    # one correction is not enough, and the engine without the examples does not know the name
    assert (
        ENGINE.learn_places(examples[:1])
        .decide(RouteRequest(**{**case, "address": unknown}))
        .jurisdiction.town
        is None
    )
