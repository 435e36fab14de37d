"""Confidential reports (检举控告): the visibility rule, the county's section, routing's own decision,
what leaves intake, who notify tells, and where the figures count them."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dispatch_common.auth import Principal, Role, may_see
from dispatch_common.county import ConfidentialRules
from dispatch_common.paths import DEFAULT_COUNTY_DIR
from services.intake.domain.disclosure import disclosed, withholds
from services.notify.domain.models import PetitionerContact, petitioner_channel
from services.notify.handlers import may_be_told
from services.routing.domain.confidential import correction_problems
from services.routing.domain.county import CountyPackage, CountyPackageError
from services.routing.domain.models import RouteRequest
from services.routing.engine import RoutingEngine
from services.supervision.domain import kpis

ENGINE = RoutingEngine.from_dir(DEFAULT_COUNTY_DIR)
UNITS = json.loads((DEFAULT_COUNTY_DIR / "units.json").read_text(encoding="utf-8"))
TAKER = next(u for u in UNITS if u["type"] == "discipline_inspection" and u["level"] == "county")
TOWN = next(u for u in UNITS if u["type"] == "town_government")
STATION = next(
    u for u in UNITS if u["type"] == "police_station" and u["jurisdiction"] == TOWN["jurisdiction"]
)
READERS = frozenset({Role.SUPERVISOR})


def who(role: Role, unit: dict | None = None) -> Principal:
    return Principal(
        subject="s",
        role=role,
        unit=unit["code"] if unit else None,
        area=unit["jurisdiction"] if unit else None,
    )


def test_a_confidential_report_is_seen_by_its_units_and_named_roles_only():
    on_it = {TAKER["code"]}
    where = {TOWN["jurisdiction"]}
    for caller in (
        who(Role.UNIT_LEADER, TOWN),
        who(Role.UNIT_HANDLER, STATION),
        who(Role.DISPATCHER),
        who(Role.ADMIN),
    ):
        assert may_see(caller, unit_codes=on_it, area_codes=where)  # an ordinary case: area or county-wide
        assert not may_see(
            caller, unit_codes=on_it, area_codes=where, confidential=True, confidential_readers=READERS
        )
    assert may_see(
        who(Role.UNIT_HANDLER, TAKER), unit_codes=on_it, confidential=True, confidential_readers=READERS
    )
    assert may_see(who(Role.SUPERVISOR), unit_codes=set(), confidential=True, confidential_readers=READERS)
    # the method of Principal is the same rule
    assert not who(Role.UNIT_LEADER, TOWN).may_see(unit_codes=on_it, area_codes=where, confidential=True)


def test_the_county_names_who_takes_and_reads_reports():
    rules = ConfidentialRules.load(DEFAULT_COUNTY_DIR)
    assert rules.unit_types == ["discipline_inspection"] and Role.SUPERVISOR in rules.reader_roles
    assert ENGINE.package.rules.confidential == rules


def _package_with(tmp_path: Path, **confidential) -> Path:
    dst = tmp_path / "county"
    shutil.copytree(DEFAULT_COUNTY_DIR, dst)
    rules = json.loads((dst / "routing_rules.json").read_text(encoding="utf-8"))
    rules["confidential"] |= confidential
    for key in [k for k, v in confidential.items() if v is None]:
        del rules["confidential"][key]
    (dst / "routing_rules.json").write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    return dst


def test_a_package_whose_report_takers_are_missing_or_only_local_is_refused(tmp_path):
    with pytest.raises(CountyPackageError) as err:
        CountyPackage.from_dir(_package_with(tmp_path, unit_types=["police_station"], subcategory="1101"))
    text = "\n".join(err.value.problems)
    assert "no county-level unit of type police_station" in text  # a town's station is the place's
    assert "1101 is not a child of 16" in text


def test_routing_gives_a_report_to_the_county_unit_and_nothing_to_the_place():
    request = RouteRequest(channel="hotline_12345", text="检举控告（内容保密）", confidential=True)
    decision = ENGINE.decide(request)
    assert decision.confidential and decision.queue == "auto"
    assert decision.lead_unit is not None and decision.lead_unit.code == TAKER["code"]
    assert decision.assisting_units == [] and decision.flags == []
    assert decision.jurisdiction.town is None and decision.category.code == "16"
    # the same text with a place and a police matter: still nothing of the place
    placed = ENGINE.decide(
        request.model_copy(update={"text": f"{TOWN['name']}派出所民警打人", "address": TOWN["name"]})
    )
    assert placed.lead_unit == decision.lead_unit and placed.flags == [] and placed.jurisdiction.town is None
    # returned by the only taker: nobody else of the place gets it, a person decides
    returned = ENGINE.decide(request, exclude_units=frozenset({TAKER["code"]}))
    assert returned.lead_unit is None and returned.queue == "manual" and returned.manual_reason


def test_a_person_may_not_give_a_report_to_the_place():
    pkg = ENGINE.package
    assert correction_problems(pkg, lead_unit=TAKER["code"], assisting_units=None, area=None) == []
    problems = correction_problems(
        pkg, lead_unit=TOWN["code"], assisting_units=[STATION["code"]], area=TOWN["jurisdiction"]
    )
    assert [field for field, _ in problems] == ["area", "lead_unit", "assisting_units.0"]


CASE = {"_id": "c1", "confidential": False, "screening": {"outcome": "accepted"}}
FACTS = {
    "case_id": "c1",
    "text": "村支书收了钱才给办低保",
    "address": "前进村",
    "lon": 111.6,
    "lat": 40.8,
    "petitioner": {
        "anonymous": False,
        "name_masked": "周*",
        "phone_masked": "139****1111",
        "contact_token": "x",
    },
    "links": {"repeat_of": {"case_id": "c0"}, "incident_of": None, "earlier_cases": 2},
    "grid_worker_id": "GW-1",
}
TEXTS = {"confidential_text": "检举控告（内容保密）", "withheld_text": "待人工甄别"}


def test_intake_withholds_a_reports_details_and_a_waiting_cases_until_screened():
    assert disclosed(FACTS, CASE, **TEXTS) == FACTS | {"withheld": False}
    report = disclosed(FACTS, CASE | {"confidential": True}, **TEXTS)
    waiting = disclosed(FACTS, CASE | {"screening": {"outcome": "manual"}}, **TEXTS)
    assert withholds(CASE | {"confidential": True}) and withholds(CASE | {"screening": {"outcome": "manual"}})
    assert report["text"] == TEXTS["confidential_text"] and waiting["text"] == TEXTS["withheld_text"]
    for out in (report, waiting):
        assert out["withheld"] is True and out["petitioner"] == {"anonymous": False}
        assert out["address"] is None and out["lon"] is None and out["lat"] is None
        assert out["links"] == {"repeat_of": None, "incident_of": None} and out["grid_worker_id"] is None
        assert "村支书" not in json.dumps(out, ensure_ascii=False)


def test_notify_tells_a_reporter_in_the_inbox_and_only_the_reports_units_and_readers():
    channel, _, reason = petitioner_channel(
        PetitionerContact(anonymous=False, contact_token="t"), confidential=True
    )
    assert channel == "inbox" and reason and "检举控告" in reason
    case = {"confidential": True, "lead_unit": {"code": TAKER["code"]}, "assisting_units": []}
    assert may_be_told("petitioner", case, READERS)
    assert may_be_told(f"unit:{TAKER['code']}", case, READERS)
    assert may_be_told(f"unit_leader:{TAKER['code']}", case, READERS)
    assert may_be_told("role:supervisor", case, READERS)
    for key in (
        f"unit:{TOWN['code']}",
        f"unit_leader:{STATION['code']}",
        "role:county_leader",
        "webhook:hotline",
    ):
        assert not may_be_told(key, case, READERS), key


def test_reports_are_counted_in_rows_of_their_own():
    at = datetime(2026, 3, 2, 1, tzinfo=UTC)
    doc = {
        "status": "assigned",
        "assigned_at": at,
        "lead_unit": {"code": TAKER["code"]},
        "category": {"code": "16"},
    }
    plain = kpis.row_key(doc, ZoneInfo("Asia/Shanghai"))
    secret = kpis.row_key(doc | {"confidential": True}, ZoneInfo("Asia/Shanghai"))
    assert plain and secret and kpis.row_id(plain) != kpis.row_id(secret)
    assert secret["confidential"] == kpis.CONFIDENTIAL_ROW and "confidential" not in plain
