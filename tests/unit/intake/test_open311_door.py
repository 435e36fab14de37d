"""The Open311 door's parts without a server: named clients with hashed keys, the service catalogue
and its attributes, the request views (public and own), and the answers in XML."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR
from services.intake.domain.open311_clients import (
    ClientEntry,
    Open311Clients,
    Open311ClientsError,
    development_clients,
    key_hash,
)
from services.intake.domain.open311_services import Catalogue, Open311ServicesError
from services.intake.domain.open311_views import open311_status, request_view
from services.intake.entrypoints.open311_format import to_xml
from tests.open311_driver import json_problems, xml_problems

CATALOGUE = DATA_DIR / "intake" / "open311_services.json"


def test_a_key_names_its_client_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    clients = Open311Clients(
        [
            ClientEntry(name="city-311", key_sha256=key_hash("key-a"), feed=True),
            ClientEntry(name="b", key_sha256=key_hash("key-b")),
        ]
    )
    assert clients.identify("key-a").subject == "open311:city-311"
    assert clients.identify("key-b").name == "b"
    assert (
        clients.identify("key-c") is None and clients.identify("") is None and clients.identify(None) is None
    )
    assert clients.feeds == {"city-311"}
    path = development_clients(tmp_path)
    key = (tmp_path / "open311_api_key").read_text()
    assert key not in path.read_text() and key_hash(key) in path.read_text()
    assert Open311Clients.load(path).identify(key).name == "dev-311-app"
    assert development_clients(tmp_path) == path and (tmp_path / "open311_api_key").read_text() == key  # once


def test_a_clients_file_naming_a_client_twice_is_refused(tmp_path: Path) -> None:
    entry = {"name": "a", "key_sha256": key_hash("k")}
    (tmp_path / "c.json").write_text(json.dumps({"clients": [entry, entry]}))
    with pytest.raises(Open311ClientsError, match="more than once"):
        Open311Clients.load(tmp_path / "c.json")


def test_services_are_the_subcategories_and_definitions_ask_what_the_data_says() -> None:
    catalogue = Catalogue(DEFAULT_COUNTY_DIR, CATALOGUE)
    assert json_problems(catalogue.services, "services") == []
    facility = catalogue.definition("0203")
    assert json_problems(facility, "service_definition") == []
    assert [a["code"] for a in facility["attributes"]] == ["facility"]
    assert catalogue.definition("1401")["attributes"][0]["code"] == "people_count"  # from its first level
    assert catalogue.definition("99") is None  # a first-level code is no service
    assert "990102" in catalogue.jurisdiction_ids


@pytest.mark.parametrize(
    ("code", "given", "problem"),
    [
        ("0203", {}, "attribute[facility]: required"),
        ("0203", {"facility": ["bridge"]}, "not among"),
        ("1401", {"people_count": ["many"]}, "not a number"),
        ("1401", {"people_count": ["0"]}, "1 or more"),
        ("0101", {"colour": ["red"]}, "not an attribute"),
        ("0401", {"noise_time": ["day", "dawn"]}, "not among"),
    ],
)
def test_attribute_values_are_checked_with_a_reason(code: str, given: dict, problem: str) -> None:
    _, _, problems = Catalogue(DEFAULT_COUNTY_DIR, CATALOGUE).check(code, given)
    assert any(problem in p for p in problems), problems


def test_attributes_fill_the_case_field_they_map_to() -> None:
    kept, fields, problems = Catalogue(DEFAULT_COUNTY_DIR, CATALOGUE).check("1401", {"people_count": ["7"]})
    assert (kept, fields, problems) == ({"people_count": 7}, {"people_count": 7}, [])


def test_a_catalogue_naming_an_unknown_category_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"attributes": {"7777": []}}))
    with pytest.raises(Open311ServicesError, match="7777"):
        Catalogue(DEFAULT_COUNTY_DIR, tmp_path / "s.json")


CASE = {
    "_id": "c1",
    "case_no": "990102-2026-000009",
    "status": "accepted",
    "text": "路灯不亮，电话138****5678",
    "address": "幸福社区5号楼",
    "location": {"lon": 111.9, "lat": 40.85},
    "category_hint": "0203",
    "received_at": datetime(2026, 5, 1, tzinfo=UTC),
    "screening": {"outcome": "accepted", "reason": "受理"},
    "assignment": {
        "lead_unit_name": "城管局",
        "due_at": datetime(2026, 6, 1, tzinfo=UTC),
        "place": {"town": "990102001", "village": "990102001001"},
    },
    "lifecycle": {"status": "replied", "at": datetime(2026, 5, 3, tzinfo=UTC), "reply": {"text": "已修复"}},
}
AREAS = {"990102001": "城关街道", "990102001001": "幸福社区"}


def test_the_public_view_places_no_finer_than_the_village_and_carries_no_text_or_point() -> None:
    public = request_view(CASE, service_name="路灯", areas=AREAS, full=False)
    assert public["status"] == "closed" and public["status_notes"] == "已答复"  # replied: the county answered
    assert public["address"] == "城关街道幸福社区"
    assert public["description"] is None and public["lat"] is None and public["long"] is None
    own = request_view(CASE, service_name="路灯", areas=AREAS, full=True)
    assert own["description"] == CASE["text"] and own["lat"] == 40.85 and own["address"] == "幸福社区5号楼"
    assert own["status_notes"] == "已答复：已修复"
    assert json_problems([public, own], "service_requests") == []
    assert open311_status(CASE | {"lifecycle": {"status": "reopened"}}) == "open"
    assert open311_status(CASE | {"lifecycle": None, "status": "not_accepted"}) == "closed"


def test_xml_answers_are_the_specifications_documents() -> None:
    view = request_view(CASE, service_name="路灯", areas=AREAS, full=True)
    raw = to_xml("service_requests", [view])
    assert xml_problems(raw, "service_requests") == []
    request = ET.fromstring(raw).find("request")
    assert request.findtext("status") == "closed" and request.find("media_url") is None  # unknown: left out
    errors = to_xml("errors", [{"code": 400, "description": "service_code: 不是服务代码"}])
    assert xml_problems(errors, "errors") == []
